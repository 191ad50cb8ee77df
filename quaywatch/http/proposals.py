"""The propose -> publish workflow that alert rules, risk rules and indicators share: a customs
or office proposes its own object for national scope, and only a national (CN) admin publishes
a proposed one. The refusals read the same on all three APIs; each names its own object.
"""

from __future__ import annotations

from quaywatch.errors import ApiError
from quaywatch.http.support import principal


def national_only(publishes: str) -> None:
    """403 unless the token is national: ``only a national (CN) admin publishes <publishes>``."""
    if not principal().national:
        raise ApiError(403, "Forbidden", f"only a national (CN) admin publishes {publishes}")


def must_be_proposed(status: str | None, what: str) -> None:
    """409 unless the object (``what``: "rule 7") waits for publication."""
    if status != "proposed":
        raise ApiError(409, "Not proposed", f"{what} has not been proposed")
