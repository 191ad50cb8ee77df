"""Shared pieces of the delivery API: body parsing, field errors, paging, the subtree check."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from flask import g, request
from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from alerter.delivery_queries import node_path
from quaywatch.auth import Principal
from quaywatch.errors import ApiError
from quaywatch.request_body import request_json

M = TypeVar("M", bound=BaseModel)
MAX_LIMIT = 500


def principal() -> Principal:
    who: Principal = g.principal
    return who


def invalid(exc: ValidationError, prefix: str = "") -> ApiError:
    """422 naming each field; never the rejected value (it may be a secret)."""
    errors = [
        {
            "field": prefix + (".".join(str(p) for p in e["loc"]) or "body"),
            "reason": e["msg"],
        }
        for e in exc.errors(include_input=False, include_url=False, include_context=False)
    ]
    first = errors[0]
    return ApiError(422, "Invalid request", f"{first['field']}: {first['reason']}", errors)


def field_error(field: str, reason: str) -> ApiError:
    return ApiError(
        422, "Invalid request", f"{field}: {reason}", [{"field": field, "reason": reason}]
    )


def body(model: type[M]) -> M:
    """The JSON body parsed into ``model``; 400 for non-JSON (quaywatch.request_body), 422
    naming the field."""
    data = request_json(empty={})
    if not isinstance(data, dict):
        raise field_error("body", "must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid(exc) from None


def page() -> tuple[int, int]:
    """``?limit=`` (1-500, default 100) and ``?offset=`` (default 0)."""
    return _int_arg("limit", 100, 1, MAX_LIMIT), _int_arg("offset", 0, 0, 10**9)


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiError(
            400, "Invalid parameter", f"{name}: must be a whole number from {low} to {high}"
        )
    return int(raw)


def int_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise ApiError(400, "Invalid parameter", f"{name}: must be a whole number")
    return int(raw)


def time_arg(name: str) -> datetime | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ApiError(400, "Invalid parameter", f"{name}: must be an ISO 8601 time with an offset")
    return moment


def paged(items: list[dict[str, Any]], limit: int, offset: int) -> dict[str, Any]:
    more = len(items) == limit
    return {
        "items": items,
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if more else None,
    }


def plain(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def own_node(conn: Connection, node_id: str | None, field: str = "node_id") -> str:
    """The node a new object attaches to: the token's own by default, else one in its subtree."""
    who = principal()
    node_id = node_id or who.node_id
    path = node_path(conn, node_id)
    if path is None or who.node_id not in path:
        raise field_error(field, f"no node {node_id!r} in this token's subtree")
    return node_id


def not_found(what: str, ident: object) -> ApiError:
    return ApiError(404, "Not found", f"no {what} {ident}")


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


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with ``$defs`` inlined: quaywatch.openapi places a body schema
    inside the document, where ``#/$defs/...`` pointers would not resolve."""
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
