"""Shared pieces of the alerter's HTTP API: the caller, bodies, pagination, visibility, errors."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import g, request
from sqlalchemy.engine import Connection

from alerter import queries
from alerter.queries import StoredRule
from alerter.rules import AnyRule, RuleError, level_problem, parse_rule
from alerter.store import Actor
from quaywatch.auth import Principal
from quaywatch.errors import ApiError
from quaywatch.request_body import request_json

MAX_LIMIT = 500
DEFAULT_LIMIT = 100


def principal() -> Principal:
    found: Principal = g.principal
    return found


def actor() -> Actor:
    caller = principal()
    return Actor(caller.name, caller.token_id, caller.node_id)


def json_object() -> dict[str, Any]:
    """The JSON body (quaywatch.request_body: 400 unless strict JSON); {} when empty."""
    body = request_json(empty={})
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid body", "body: must be a JSON object")
    return body


def _whole(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiError(
            400,
            "Invalid parameter",
            f"{name}: must be a whole number from {low} to {high}",
            [{"field": name, "reason": f"must be a whole number from {low} to {high}"}],
        )
    return int(raw)


def page_args() -> tuple[int, int]:
    """(limit, offset) from the query string; lists fetch limit + 1 rows to know about a next."""
    return _whole("limit", DEFAULT_LIMIT, 1, MAX_LIMIT), _whole("offset", 0, 0, 10**9)


def page(items: list[Any], limit: int, offset: int) -> dict[str, Any]:
    """A page of a list with a `next` link (None on the last page)."""
    more = len(items) > limit
    next_link = None
    if more:
        args = {**request.args.to_dict(), "limit": limit, "offset": offset + limit}
        next_link = f"{request.path}?{urlencode(args)}"
    return {"items": items[:limit], "limit": limit, "offset": offset, "next": next_link}


def _is_time(value: str) -> bool:
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


# Typed filters are checked here so a bad value is a 400 naming it, never a database error.
_FILTER_CHECKS: dict[str, tuple[Callable[[str], bool], str]] = {
    "rule_id": (lambda v: v.isdigit() and int(v) < 2**31, "must be a whole number"),
    "enabled": (lambda v: v in ("true", "false"), "must be true or false"),
    "since": (_is_time, "must be an ISO 8601 time with an offset"),
    "until": (_is_time, "must be an ISO 8601 time with an offset"),
}


def filters(allowed: Mapping[str, str]) -> dict[str, str]:
    """Query-string filters that the list understands; other arguments are ignored."""
    found = {key: request.args[key] for key in allowed if request.args.get(key)}
    for key, value in found.items():
        check = _FILTER_CHECKS.get(key)
        if check is not None and not check[0](value):
            raise field_problem(400, "Invalid parameter", key, check[1])
    return found


def rule_problem(error: RuleError, title: str = "Invalid rule") -> ApiError:
    return ApiError(422, title, str(error), error.as_dicts())


def field_problem(status: int, title: str, field: str, reason: str) -> ApiError:
    return ApiError(status, title, f"{field}: {reason}", [{"field": field, "reason": reason}])


def node_path(conn: Connection, node_id: str) -> tuple[str, ...] | None:
    info = queries.node_info(conn, node_id)
    return info[1] if info else None


def in_subtree(path: tuple[str, ...] | None) -> bool:
    return path is not None and principal().node_id in path


def require_node_in_subtree(
    conn: Connection, node_id: str, field: str = "node_id"
) -> tuple[str, ...]:
    path = node_path(conn, node_id)
    if path is None:
        raise field_problem(422, "Unknown node", field, f"no org node {node_id!r}")
    if not in_subtree(path):
        raise field_problem(403, "Forbidden", field, f"{node_id} is outside this token's subtree")
    return path


def visible_rule(conn: Connection, rule_id: int) -> tuple[StoredRule, bool]:
    """(rule, editable): visible when at a node in the caller's subtree (editable) or at one
    of its ancestors (read-only: it reaches into the subtree); 404 otherwise."""
    stored = queries.get_rule(conn, rule_id)
    if stored is not None:
        path = node_path(conn, stored.node_id)
        if in_subtree(path):
            return stored, True
        own = node_path(conn, principal().node_id) or ()
        if stored.node_id in own:
            return stored, False
    raise ApiError(404, "Not found", f"no rule {rule_id} visible to this token")


def editable_rule(conn: Connection, rule_id: int) -> StoredRule:
    stored, editable = visible_rule(conn, rule_id)
    if not editable:
        caller = principal().node_id
        raise ApiError(
            403,
            "Forbidden",
            f"rule {rule_id} belongs to {stored.node_id}, above this token's node {caller};"
            f" set a local value with PUT /api/v1/rules/{rule_id}/overrides/{caller}",
        )
    return stored


def parse_draft(conn: Connection, data: Any, default_node: str | None = None) -> AnyRule:
    """Validate a rule body and check its node: known, in the caller's subtree, level fits."""
    if isinstance(data, dict) and "node_id" not in data:
        data = {**data, "node_id": default_node or principal().node_id}
    try:
        rule = parse_rule(data)
    except RuleError as exc:
        raise rule_problem(exc) from None
    info = queries.node_info(conn, rule.node_id)
    problem = level_problem(rule, info[0] if info else None)
    if problem:
        raise rule_problem(RuleError([problem]))
    require_node_in_subtree(conn, rule.node_id)
    return rule


def rule_json(conn: Connection, stored: StoredRule, editable: bool) -> dict[str, Any]:
    body = stored.as_json()
    body["editable"] = editable
    body["overrides"] = queries.override_rows(conn, stored.rule_id)
    body["status"] = queries.rule_status(conn, stored.rule_id)
    return body


def stored_rule(stored: StoredRule, spec: dict[str, Any] | None = None) -> AnyRule:
    """The rule a stored spec describes; a spec that no longer validates is a 409, not a 500."""
    try:
        return parse_rule(spec if spec is not None else stored.spec)
    except RuleError as exc:
        raise ApiError(
            409, "Rule cannot be loaded", f"rule {stored.rule_id}: {exc}", exc.as_dicts()
        ) from None
