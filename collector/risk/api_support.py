"""Small shared pieces of the risk API: the caller, bodies, query arguments, JSON values, and the
subtree check (a token sees and changes only its own subtree)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, TypeVar

from flask import g, request
from pydantic import BaseModel, ValidationError
from sqlalchemy import text
from sqlalchemy.engine import Connection

from collector.risk.rules import Actor
from quaywatch.auth import Principal
from quaywatch.errors import ApiError
from quaywatch.request_body import request_json

M = TypeVar("M", bound=BaseModel)
MAX_LIMIT = 500


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with nested models written in place: the OpenAPI document
    carries each body schema alone, where a "#/$defs/..." reference would not resolve."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


def principal() -> Principal:
    who: Principal = g.principal
    return who


def actor() -> Actor:
    who = principal()
    return Actor(name=who.name, token_id=who.token_id, node_id=who.node_id)


def body(model: type[M]) -> M:
    """The JSON body parsed into `model`: 400 when it is not a JSON object, 422 naming the
    field otherwise (never echoing the value)."""
    data = request_json(empty={})
    if not isinstance(data, dict):
        raise ApiError(422, "Invalid request", "body: must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]) or "body", "reason": e["msg"]}
            for e in exc.errors(include_input=False, include_url=False, include_context=False)
        ]
        first = errors[0]
        raise ApiError(
            422, "Invalid request", f"{first['field']}: {first['reason']}", errors
        ) from None


def _bad(name: str, reason: str) -> ApiError:
    return ApiError(
        400, "Invalid parameter", f"{name}: {reason}", [{"field": name, "reason": reason}]
    )


def page_args() -> tuple[int, int]:
    """?limit= (1-500, default 100) and ?offset=."""
    limit = request.args.get("limit", "100")
    offset = request.args.get("offset", "0")
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_LIMIT:
        raise _bad("limit", f"must be a whole number from 1 to {MAX_LIMIT}")
    if not offset.isdigit():
        raise _bad("offset", "must be a whole number")
    return int(limit), int(offset)


def page(items: list[Any], limit: int, offset: int) -> dict[str, Any]:
    """A page from `limit + 1` fetched items: the extra one only says that a next page exists."""
    more = len(items) > limit
    return {
        "items": jsonable(items[:limit]),
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if more else None,
    }


def float_arg(name: str) -> float | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return float(raw)
    except ValueError:
        raise _bad(name, "must be a number") from None


def bool_arg(name: str) -> bool | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if raw not in ("true", "false"):
        raise _bad(name, "must be true or false")
    return raw == "true"


def time_arg(name: str) -> datetime | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise _bad(name, "must be an ISO 8601 time with an offset")
    return moment


def jsonable(value: Any) -> Any:
    """Times as ISO 8601 (Flask would write HTTP dates), recursively."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def node_path(conn: Connection, node_id: str) -> tuple[str, ...] | None:
    row = conn.execute(text("SELECT path FROM org_node WHERE node_id = :n"), {"n": node_id}).first()
    return tuple(row[0]) if row else None


def visible_node(conn: Connection, node_id: str | None) -> str:
    """The node a read or write is about: the token's own by default, else one in its subtree
    (404 otherwise, so a token cannot learn what lies outside its subtree)."""
    who = principal()
    node_id = node_id or who.node_id
    path = node_path(conn, node_id)
    if path is None or who.node_id not in path:
        raise ApiError(404, "Not found", f"no node {node_id!r}")
    return node_id
