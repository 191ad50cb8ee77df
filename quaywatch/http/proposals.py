"""The propose -> publish workflow that alert rules, risk rules and indicators share: a customs
or office proposes its own object for national scope, and only a national (CN) admin publishes
a proposed one. The propose route (``add_propose_route``), its body and the refusals read the
same on all three APIs; each names its own object and records the proposal its own way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from quaywatch.errors import ApiError
from quaywatch.http import openapi
from quaywatch.http.routes import allow
from quaywatch.http.support import body, principal
from quaywatch.web import app_engine

Propose = Callable[..., Any]
"""``propose(conn, comment, **path_args)``: checks and records one proposal, returns the answer."""


class ProposeBody(BaseModel):
    """The body of every propose route (it may be empty): a note to the national centre."""

    model_config = ConfigDict(extra="forbid")

    comment: str = Field(default="", max_length=2000)


def proposal_comment() -> str:
    """The propose body's comment; 422 naming the field for an unknown field, a comment that is
    not a string (null included) or one over 2,000 characters. Nothing is cut or coerced."""
    return body(ProposeBody).comment


def add_propose_route(bp: Blueprint, rule: str, scope: str, propose: Propose) -> None:
    """``POST rule`` with ``scope`` and a ``ProposeBody``: ``propose(conn, comment, **path_args)``
    in one transaction, committed before its return value (JSON-ready) is answered. The view
    takes ``propose``'s name as its endpoint and its docstring as the operation's summary, as a
    hand-written view would (quaywatch.http.openapi)."""

    def view(**path_args: Any) -> Any:
        comment = proposal_comment()
        with app_engine().begin() as conn:
            answer = propose(conn, comment, **path_args)
        return answer

    view.__name__ = view.__qualname__ = propose.__name__
    view.__doc__ = propose.__doc__
    documented = allow(scope)(openapi.body(ProposeBody)(view))
    bp.add_url_rule(rule, propose.__name__, documented, methods=["POST"])


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
