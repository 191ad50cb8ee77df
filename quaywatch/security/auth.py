"""Scoped API tokens: each token has a role and an org node, and sees only that node's subtree.

Tokens are random strings shown once; the database keeps only their SHA-256. A request presents
one as `Authorization: Bearer <token>` (or `X-API-Key`). A token may expire (``expires_at``)
and be revoked (``revoked_at``); either ends it. ``last_used_at`` is set on each use.

A token never grants more than it holds: one made by another token has a role no higher
(``ROLE_ORDER``), a node in its subtree and an expiry no later (``may_grant``).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, NamedTuple, TypeVar

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

ROLE_ORDER = ("viewer", "station", "operator", "admin")  # each holds the scopes of those before
TOKEN_COLUMNS = "token_id, name, role, node_id, created_at, last_used_at, expires_at, revoked_at"  # never token_hash
_EXPIRY = re.compile(r"^([1-9][0-9]{0,4})([mhdw])$")
_EXPIRY_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MAX_EXPIRY = timedelta(days=3660)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Principal:
    token_id: int
    name: str
    role: str
    node_id: str
    expires_at: datetime | None = None

    @property
    def scopes(self) -> frozenset[str]:
        return ROLE_SCOPES[self.role]

    @property
    def national(self) -> bool:
        return self.node_id == "CN"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_expiry(value: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``2w``: a positive whole number and one unit; ValueError else."""
    match = _EXPIRY.match(value.strip())
    if match is None:
        raise ValueError("must be a whole number and a unit m, h, d or w, such as 30d")
    span = timedelta(**{_EXPIRY_UNITS[match[2]]: int(match[1])})
    if span > MAX_EXPIRY:
        raise ValueError("is too long (at most 3660d)")
    return span


def may_grant(issuer: Principal, role: str) -> bool:
    """Is ``role`` no broader than the issuer's own (viewer < station < operator < admin)?"""
    return role in ROLE_ORDER and ROLE_ORDER.index(role) <= ROLE_ORDER.index(issuer.role)


class IssuedToken(NamedTuple):
    row: dict[str, Any]
    """The stored row, without its hash."""
    token: str
    """The token itself: shown to the user once, never stored or logged."""


def issue_token(
    conn: Connection,
    name: str,
    role: str,
    node_id: str,
    token: str | None = None,
    expires_at: datetime | None = None,
) -> IssuedToken:
    """Store a new token's hash (``token``, or a random one); the token is never stored."""
    if role not in ROLE_SCOPES:
        raise ValueError(f"role must be one of {', '.join(ROLE_SCOPES)}")
    token = token or "qw_" + secrets.token_urlsafe(32)
    params = {"n": name, "h": hash_token(token), "r": role, "node": node_id, "exp": expires_at}
    row = (
        conn.execute(
            text(
                "INSERT INTO api_token (name, token_hash, role, node_id, expires_at)"
                " VALUES (:n, :h, :r, :node, :exp) ON CONFLICT (token_hash) DO UPDATE"
                f" SET token_hash = excluded.token_hash RETURNING {TOKEN_COLUMNS}"
            ),
            params,
        )
        .mappings()
        .one()
    )
    return IssuedToken(dict(row), token)


def list_tokens(
    conn: Connection, root: str, limit: int = 1000, offset: int = 0
) -> list[dict[str, Any]]:
    """Tokens whose node is in ``root``'s subtree, oldest first; never their hashes."""
    rows = conn.execute(
        text(
            f"SELECT {TOKEN_COLUMNS} FROM api_token t JOIN org_node n USING (node_id)"
            " WHERE :root = ANY (n.path) ORDER BY token_id LIMIT :limit OFFSET :offset"
        ),
        {"root": root, "limit": limit, "offset": offset},
    ).mappings()
    return [dict(r) for r in rows]


def revoke_token(conn: Connection, token_id: int, root: str) -> dict[str, Any] | None:
    """Revoke a token in ``root``'s subtree (again is a no-op); None when there is none."""
    row = (
        conn.execute(
            text(
                "UPDATE api_token t SET revoked_at = coalesce(revoked_at, now()) FROM org_node n"
                " WHERE t.token_id = :id AND n.node_id = t.node_id AND :root = ANY (n.path)"
                f" RETURNING {', '.join('t.' + c for c in TOKEN_COLUMNS.split(', '))}"
            ),
            {"id": token_id, "root": root},
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def authenticate(engine: Engine, token: str) -> Principal | None:
    """The token's principal, or None when it is unknown, revoked or expired."""
    with engine.begin() as conn:
        row = conn.execute(
            text(
                "UPDATE api_token SET last_used_at = now() WHERE token_hash = :h"
                " AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())"
                " RETURNING token_id, name, role, node_id, expires_at"
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
                raise ApiError(401, "Invalid token", "the token is unknown, revoked or expired")
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
