"""The propose -> publish workflow that alert rules, risk rules and indicators share: a customs
or office proposes its own object for national scope, and only a national (CN) admin publishes
a proposed one. The body and the refusals read the same on all three APIs; each names its own
object.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from quaywatch.errors import ApiError
from quaywatch.http.support import body, principal


class ProposeBody(BaseModel):
    """The body of every propose route (it may be empty): a note to the national centre."""

    model_config = ConfigDict(extra="forbid")

    comment: str = Field(default="", max_length=2000)


def proposal_comment() -> str:
    """The propose body's comment; 422 naming the field for an unknown field, a comment that is
    not a string (null included) or one over 2,000 characters. Nothing is cut or coerced."""
    return body(ProposeBody).comment


def must_not_be_national(national: bool, what: str) -> None:
    """409 when the object (``what``: "rule 7") already has national scope."""
    if national:
        raise ApiError(409, "Already national", f"{what} is already at national scope")


def national_only(publishes: str) -> None:
    """403 unless the token is national: ``only a national (CN) admin publishes <publishes>``."""
    if not principal().national:
        raise ApiError(403, "Forbidden", f"only a national (CN) admin publishes {publishes}")


def must_be_proposed(status: str | None, what: str) -> None:
    """409 unless the object (``what``: "rule 7") waits for publication."""
    if status != "proposed":
        raise ApiError(409, "Not proposed", f"{what} has not been proposed")
