"""Which rules a token sees and may change, rule bodies checked against the org tree, and the
filtered list pages of the rules and alerts APIs. Writes no table.

Shared HTTP pieces are in quaywatch.http.support.
A token sees the rules at nodes in its subtree (editable) and those of its ancestors
(read-only: they reach into its subtree); a sibling's rules are a 404.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from alerter.evaluation.reads.alerts import rule_status
from alerter.rules import reads
from alerter.rules.kinds import AnyRule, RuleError, level_problem, parse_rule
from alerter.rules.reads import StoredRule
from alerter.rules.store import Actor
from quaywatch.errors import ApiError
from quaywatch.http.support import (
    bad_arg,
    bool_arg,
    filters,
    int_arg,
    node_access,
    page,
    page_args,
    principal,
    require_in_subtree,
    time_arg,
)
from quaywatch.web import app_engine

# The typed filters of the rule, alert and history lists (quaywatch.http.support.filters): a bad
# value is a 400 naming it, never a database error.
TYPED_FILTERS: dict[str, Callable[[str], object]] = {
    "rule_id": lambda name: int_arg(name, high=2**31 - 1),  # an int column
    "enabled": bool_arg,
    "since": time_arg,
    "until": time_arg,
}


def filtered_page(
    listing: reads.SubtreeListing, choices: Mapping[str, Collection[str]] | None = None
) -> dict[str, Any]:
    """GET of a list in the token's subtree, filtered by the query arguments the listing has
    clauses for (those in ``choices`` must be one of them), as a page with a ``next`` link."""
    limit, offset = page_args()
    wanted = filters(listing.clauses, TYPED_FILTERS)
    for name, allowed in (choices or {}).items():
        if name in wanted and wanted[name] not in allowed:
            raise bad_arg(name, f"must be one of {sorted(allowed)}")
    with app_engine().connect() as conn:
        rows = listing.page(conn, principal().node_id, wanted, limit + 1, offset)
    return page(rows, limit, offset)


def actor() -> Actor:
    """The request's token as the author of a change."""
    caller = principal()
    return Actor(caller.name, caller.token_id, caller.node_id)


def rule_problem(error: RuleError, title: str = "Invalid rule") -> ApiError:
    return ApiError(422, title, str(error), error.as_dicts())


def visible_rule(conn: Connection, rule_id: int) -> tuple[StoredRule, bool]:
    """(rule, editable): visible when at a node in the caller's subtree (editable) or at one
    of its ancestors (read-only: it reaches into the subtree); 404 otherwise."""
    stored = reads.get_rule(conn, rule_id)
    if stored is not None:
        editable = node_access(conn, stored.node_id)
        if editable is not None:
            return stored, editable
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
    info = reads.node_info(conn, rule.node_id)
    problem = level_problem(rule, info[0] if info else None) or indicator_problem(conn, rule)
    if problem:
        raise rule_problem(RuleError([problem]))
    require_in_subtree(conn, rule.node_id)
    return rule


def indicator_problem(conn: Connection, rule: AnyRule) -> tuple[str, str] | None:
    """A rule on an indicator the catalogue does not have could never fire."""
    code = rule.indicator_code
    if code is None:
        return None
    known = conn.execute(
        text("SELECT 1 FROM indicator WHERE code = :c"), {"c": code}
    ).first()  # the collector's catalogue, read with SQL (docs/architecture.md)
    if known:
        return None
    return ("indicator", f"unknown indicator {code!r}; GET /api/v1/indicators lists them")


def rule_json(conn: Connection, stored: StoredRule, editable: bool) -> dict[str, Any]:
    body = stored.as_json()
    body["editable"] = editable
    body["overrides"] = reads.override_rows(conn, stored.rule_id)
    body["status"] = rule_status(conn, stored.rule_id)
    return body


def stored_rule(stored: StoredRule, spec: dict[str, Any] | None = None) -> AnyRule:
    """The rule a stored spec describes; a spec that no longer validates is a 409, not a 500."""
    try:
        return parse_rule(spec if spec is not None else stored.spec)
    except RuleError as exc:
        raise ApiError(
            409, "Rule cannot be loaded", f"rule {stored.rule_id}: {exc}", exc.as_dicts()
        ) from None
