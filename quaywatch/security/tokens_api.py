"""API tokens under /api/v1/tokens (scope ``tokens:write``, admins): list, create, revoke.

A token sees and revokes only the tokens of its subtree, and mints none broader than itself:
no higher role (``auth.may_grant``), no node outside its subtree, no later expiry. The token
value is in the answer to its creation only; lists and logs never carry it (nor its hash).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from flask import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from quaywatch.http.openapi import body as doc_body
from quaywatch.http.routes import allow
from quaywatch.http.support import (
    NODE,
    PAGE,
    body,
    field_problem,
    inline_schema,
    jsonable,
    node_arg,
    not_found,
    page,
    page_args,
    principal,
    require_in_subtree,
)
from quaywatch.security import auth
from quaywatch.web import app_engine

bp = Blueprint("tokens", __name__, url_prefix="/api/v1")


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    role: Literal["viewer", "station", "operator", "admin"]
    node_id: str | None = Field(None, min_length=1, max_length=100)  # default: the caller's
    expires_in: str | None = Field(None, max_length=20)  # 30d, 12h, 90m, 2w; none: never


@bp.get("/tokens")
@allow("tokens:write", *PAGE, NODE)
def list_tokens() -> Any:
    """Tokens of the caller's subtree (or of ``?node=`` in it), without their values."""
    limit, offset = page_args()
    with app_engine().connect() as conn:
        rows = auth.list_tokens(conn, node_arg(conn), limit + 1, offset)
    return page([jsonable(r) for r in rows], limit, offset)


def _expiry(expires_in: str | None, now: datetime) -> datetime | None:
    """The new token's end: never later than the caller's own."""
    try:
        ends = now + auth.parse_expiry(expires_in) if expires_in is not None else None
    except ValueError as exc:
        raise field_problem("expires_in", str(exc), title="Invalid body") from None
    own = principal().expires_at
    if own is not None and (ends is None or ends > own):
        reason = f"must end by this token's own expiry ({own.isoformat()})"
        raise field_problem("expires_in", reason, 403, "Forbidden")
    return ends


@bp.post("/tokens")
@allow("tokens:write")
@doc_body(inline_schema(TokenIn))
def create_token() -> Any:
    """Create a token; its value is shown in this answer only."""
    new = body(TokenIn)
    caller = principal()
    if not auth.may_grant(caller, new.role):
        raise field_problem("role", f"broader than this token's {caller.role}", 403, "Forbidden")
    with app_engine().begin() as conn:
        node_id = new.node_id or caller.node_id
        require_in_subtree(conn, node_id)
        expires_at = _expiry(new.expires_in, datetime.now(UTC))
        row, token = auth.issue_token(conn, new.name, new.role, node_id, expires_at=expires_at)
    return {**jsonable(row), "token": token}, 201


@bp.delete("/tokens/<int:token_id>")
@allow("tokens:write")
def revoke_token(token_id: int) -> Any:
    """Revoke a token of the caller's subtree; it is refused from then on."""
    with app_engine().begin() as conn:
        row = auth.revoke_token(conn, token_id, principal().node_id)
    if row is None:
        raise not_found("token", token_id)
    return jsonable(row)
