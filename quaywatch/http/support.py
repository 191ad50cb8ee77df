"""What every blueprint needs from HTTP: the caller, bodies, errors, query arguments, pages,
JSON values and the subtree check (query arguments: quaywatch.http.query). Writes no table (reads org_node.path).

Shared by collector, forecaster and alerter, and imports none of them (they import this), so
each API refuses the same things the same way. Errors are ``ApiError``s, which quaywatch.web
answers as application/problem+json; an error about one field or query argument names it both
in ``detail`` (``"limit: must be ..."``) and in ``errors`` (``[{"field", "reason"}]``). Product
types are built from ``principal()`` in their own packages (the alerter's and the risk
screening's ``Actor``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import g, request
from pydantic import BaseModel, ValidationError
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from quaywatch.errors import ApiError, bad_arg, field_problem
from quaywatch.http.query import (
    DEFAULT_LIMIT,
    ID_MAX,
    LIMIT,
    MAX_LIMIT,
    MAX_OFFSET,
    NODE,
    OFFSET,
    PAGE,
    Param,
    bool_arg,
    filters,
    float_arg,
    int_arg,
    page_args,
    query,
    query_params,
    time_arg,
)
from quaywatch.http.request_body import request_json
from quaywatch.security.auth import Principal
from quaywatch.web import app_engine

# Re-exported: blueprints import all of their HTTP support from this one module.
__all__ = [
    "DEFAULT_LIMIT",
    "ID_MAX",
    "LIMIT",
    "MAX_LIMIT",
    "MAX_OFFSET",
    "NODE",
    "OFFSET",
    "PAGE",
    "Param",
    "bad_arg",
    "bool_arg",
    "field_problem",
    "filters",
    "float_arg",
    "int_arg",
    "page_args",
    "query",
    "query_params",
    "time_arg",
]

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def principal() -> Principal:
    """The token of the request (set by quaywatch.security.auth.require)."""
    caller: Principal = g.principal
    return caller


# --- errors ---------------------------------------------------------------------------------


def invalid(exc: ValidationError, prefix: str = "", title: str = "Invalid request") -> ApiError:
    """422 naming each field at fault; never the rejected value (it may be a secret)."""
    errors = [
        {
            "field": prefix + (".".join(str(p) for p in e["loc"]) or "body"),
            "reason": e["msg"],
        }
        for e in exc.errors(include_input=False, include_url=False, include_context=False)
    ]
    first = errors[0]
    return ApiError(422, title, f"{first['field']}: {first['reason']}", errors)


def not_found(what: str, ident: object) -> ApiError:
    return ApiError(404, "Not found", f"no {what} {ident}")


def found_one(rows: Sequence[T], what: str, ident: object) -> T:
    """The row a lookup by id found; 404 ``no <what> <ident>`` when it found none."""
    if not rows:
        raise not_found(what, ident)
    return rows[0]


@contextmanager
def unique(field: str, what: str) -> Iterator[None]:
    """Turn a unique-constraint violation into 409 naming the field."""
    try:
        yield
    except IntegrityError as exc:
        if "duplicate key" not in str(exc.orig):
            raise
        raise ApiError(
            409, "Conflict", f"{field}: the node already has {what} of that name"
        ) from None


# --- bodies ---------------------------------------------------------------------------------


def json_object(status: int = 400, title: str = "Invalid body") -> dict[str, Any]:
    """The JSON body as an object, ``{}`` when empty. quaywatch.http.request_body answers 400 for
    a body that is not strict JSON; JSON that is not an object is ``status``: 400 on the
    rules and alerts API (whose bodies parse_rule checks itself), 422 through ``body``."""
    data = request_json(empty={})
    if not isinstance(data, dict):
        raise field_problem("body", "must be a JSON object", status, title)
    return data


def validated(model: type[M], data: Any, title: str = "Invalid request") -> M:
    """``data`` as a ``model``; 422 naming each field at fault."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid(exc, title=title) from None


def body(model: type[M]) -> M:
    """The JSON body parsed into ``model``: 400 for non-JSON, 422 naming the field otherwise."""
    return validated(model, json_object(422, "Invalid request"))


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with ``$defs`` written in place: quaywatch.http.openapi places a body
    schema inside the document, where ``#/$defs/...`` pointers would not resolve."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


# --- pages ---------------------------------------------------------------------------------
# Lists fetch limit + 1 rows: the extra one only says that a next page exists.


def page(items: list[Any], limit: int, offset: int) -> dict[str, Any]:
    """The one page envelope of every list, from ``limit + 1`` items: the next page as a link
    (``next``, this request with the next offset) and as its offset (``next_offset``), both
    None on the last page (quaywatch.http.openapi declares it as the Page schema)."""
    next_offset = offset + limit if len(items) > limit else None
    next_link = None
    if next_offset is not None:
        args = {**request.args.to_dict(), "limit": limit, "offset": next_offset}
        next_link = f"{request.path}?{urlencode(args)}"
    return {
        "items": jsonable(items[:limit]),
        "limit": limit,
        "offset": offset,
        "next": next_link,
        "next_offset": next_offset,
    }


def listing(
    query: Callable[[Connection, str, int, int], Sequence[Mapping[str, Any]]],
    shown: Callable[[dict[str, Any]], Any] = dict,
) -> dict[str, Any]:
    """GET of a list the token sees: ``query(conn, root, limit + 1, offset)``, each row
    ``shown``, as a page."""
    limit, offset = page_args()
    with app_engine().connect() as conn:
        rows = query(conn, principal().node_id, limit + 1, offset)
    return page([shown(dict(row)) for row in rows], limit, offset)


# --- JSON values ----------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """Times as ISO 8601 (Flask would write HTTP dates), recursively."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


# --- the subtree: a token sees and changes only what lies under its node -------------------


def node_path(conn: Connection, node_id: str) -> tuple[str, ...] | None:
    """The node's root-to-self path, or None when there is no such node."""
    row = conn.execute(text("SELECT path FROM org_node WHERE node_id = :n"), {"n": node_id}).first()
    return tuple(row[0]) if row else None


def in_subtree(path: Sequence[str] | None) -> bool:
    """Is the node at ``path`` in the token's subtree?"""
    return path is not None and principal().node_id in path


def node_access(conn: Connection, node_id: str) -> bool | None:
    """What the token may do with objects at the node: True in its subtree (change them),
    False at one of its ancestors (read them: they reach into the subtree), None elsewhere."""
    if in_subtree(node_path(conn, node_id)):
        return True
    if node_id in (node_path(conn, principal().node_id) or ()):
        return False
    return None


def require_in_subtree(conn: Connection, node_id: str, field: str = "node_id") -> tuple[str, ...]:
    """The path of a node a body names: 422 when it does not exist, 403 when it is outside
    the token's subtree."""
    path = node_path(conn, node_id)
    if path is None:
        raise field_problem(field, f"no org node {node_id!r}", 422, "Unknown node")
    if not in_subtree(path):
        raise field_problem(field, f"{node_id} is outside this token's subtree", 403, "Forbidden")
    return path


def own_node(conn: Connection, node_id: str | None, field: str = "node_id") -> str:
    """The node a new object attaches to: the token's own by default, else one in its subtree
    (422 naming the field otherwise)."""
    node_id = node_id or principal().node_id
    if not in_subtree(node_path(conn, node_id)):
        raise field_problem(field, f"no node {node_id!r} in this token's subtree")
    return node_id


def visible_node(conn: Connection, node_id: str | None) -> str:
    """The node a read is about: the token's own by default, else one in its subtree (404
    otherwise, so a token cannot learn what lies outside its subtree)."""
    node_id = node_id or principal().node_id
    if not in_subtree(node_path(conn, node_id)):
        raise ApiError(404, "Not found", f"no node {node_id!r}")
    return node_id


def node_arg(conn: Connection, name: str = "node") -> str:
    """``visible_node`` of the optional ``?node=`` argument."""
    return visible_node(conn, request.args.get(name))
