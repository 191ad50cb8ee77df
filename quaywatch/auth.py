"""Scoped API tokens: each token has a role and an org node, and sees only that node's subtree.

Tokens are random strings shown once; the database keeps only their SHA-256. A request presents
one as `Authorization: Bearer <token>` (or `X-API-Key`).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import g, request
from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

from quaywatch.errors import ApiError

ROLE_SCOPES: dict[str, frozenset[str]] = {
    "viewer": frozenset({"read"}),
    "station": frozenset({"read", "events:write"}),
    "operator": frozenset({"read", "events:write", "alerts:write", "silences:write"}),
    "admin": frozenset(
        {
            "read",
            "events:write",
            "alerts:write",
            "silences:write",
            "rules:write",
            "channels:write",
            "indicators:write",
            "feeds:write",
            "tokens:write",
            "rules:publish",
        }
    ),
}

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Principal:
    token_id: int
    name: str
    role: str
    node_id: str

    @property
    def scopes(self) -> frozenset[str]:
        return ROLE_SCOPES[self.role]

    @property
    def national(self) -> bool:
        return self.node_id == "CN"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    conn: Connection, name: str, role: str, node_id: str, token: str | None = None
) -> str:
    """Store a new token's hash and return the token itself (shown to the user once)."""
    if role not in ROLE_SCOPES:
        raise ValueError(f"role must be one of {', '.join(ROLE_SCOPES)}")
    token = token or "qw_" + secrets.token_urlsafe(32)
    conn.execute(
        text(
            "INSERT INTO api_token (name, token_hash, role, node_id) VALUES (:n, :h, :r, :node)"
            " ON CONFLICT (token_hash) DO NOTHING"
        ),
        {"n": name, "h": hash_token(token), "r": role, "node": node_id},
    )
    return token


def authenticate(engine: Engine, token: str) -> Principal | None:
    with engine.begin() as conn:
        row = conn.execute(
            text(
                "UPDATE api_token SET last_used_at = now() WHERE token_hash = :h"
                " AND revoked_at IS NULL RETURNING token_id, name, role, node_id"
            ),
            {"h": hash_token(token)},
        ).first()
    return Principal(*row) if row else None


def _presented_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.headers.get("X-API-Key") or None


def require(scope: str) -> Callable[[F], F]:
    """Reject the request with 401/403 unless its token carries `scope`; sets g.principal."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from quaywatch.web import app_engine

            token = _presented_token()
            if token is None:
                raise ApiError(401, "Authentication required", "send Authorization: Bearer <token>")
            principal = authenticate(app_engine(), token)
            if principal is None:
                raise ApiError(401, "Invalid token", "the token is unknown or revoked")
            if scope not in principal.scopes:
                raise ApiError(403, "Forbidden", f"role {principal.role} lacks scope {scope}")
            g.principal = principal
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def subtree_of(conn: Connection, node_id: str) -> set[str]:
    """All node ids in the subtree rooted at node_id (itself included)."""
    rows = conn.execute(text("SELECT node_id FROM org_node WHERE :n = ANY (path)"), {"n": node_id})
    return {row[0] for row in rows}
