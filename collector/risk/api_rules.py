"""Risk rules over HTTP: list, create, propose, publish (national admins only), precision.

Visibility as for alert rules: a token sees the rules of nodes in its subtree (and may change
them with rules:write) and, read-only, those of its ancestors, which reach into its subtree.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from sqlalchemy import text
from sqlalchemy.engine import Connection

from collector.risk import queue, rules
from collector.risk.rules import Actor
from quaywatch.errors import ApiError
from quaywatch.http import proposals
from quaywatch.http.openapi import body as documented
from quaywatch.http.routes import allow
from quaywatch.http.support import (
    PAGE,
    body,
    inline_schema,
    jsonable,
    node_access,
    node_path,
    page,
    page_args,
    principal,
    visible_node,
)
from quaywatch.web import app_engine

rules_bp = Blueprint("risk_rules", __name__)


def actor() -> Actor:
    """The request's token as the author of a change (for the risk API's writes)."""
    who = principal()
    return Actor(name=who.name, token_id=who.token_id, node_id=who.node_id)


def _visible(conn: Connection, rule_id: int) -> tuple[dict[str, Any], bool]:
    """(rule, editable); 404 unless the rule's node is in the caller's subtree or above it."""
    rule = rules.get_rule(conn, rule_id)
    if rule is not None:
        editable = node_access(conn, rule["node_id"])
        if editable is not None:
            return rule, editable
    raise ApiError(404, "Not found", f"no risk rule {rule_id} visible to this token")


def _editable(conn: Connection, rule_id: int) -> dict[str, Any]:
    rule, editable = _visible(conn, rule_id)
    if not editable:
        raise ApiError(
            403, "Forbidden", f"risk rule {rule_id} belongs to {rule['node_id']}, above this token"
        )
    return rule


@rules_bp.get("/risk/rules")
@allow("read", *PAGE)
def list_rules() -> Any:
    """Risk rules of the token's subtree (editable) and of its ancestors (read-only)."""
    limit, offset = page_args()
    me = principal().node_id
    with app_engine().connect() as conn:
        above = list(node_path(conn, me) or (me,))
        rows = conn.execute(
            text(
                "SELECT r.rule_id, r.name, r.node_id, r.description, r.conditions, r.summary,"
                " r.enabled, r.proposal_status, r.origin_node_id, r.version, r.updated_at,"
                " :me = ANY (n.path) AS editable FROM risk_rule r"
                " JOIN org_node n ON n.node_id = r.node_id"
                " WHERE :me = ANY (n.path) OR r.node_id = ANY (:above)"
                " ORDER BY r.rule_id LIMIT :limit OFFSET :offset"
            ),
            {"me": me, "above": above, "limit": limit + 1, "offset": offset},
        ).mappings()
        return page([dict(row) for row in rows], limit, offset)


@rules_bp.post("/risk/rules")
@allow("rules:write")
@documented(inline_schema(rules.RuleDraft))
def create_rule() -> Any:
    """Create a risk rule at the token's node or one below it."""
    draft = body(rules.RuleDraft)
    with app_engine().begin() as conn:
        node = visible_node(conn, draft.node_id)
        rule = rules.create_rule(conn, draft, node, actor())
    return jsonable(rule), 201, {"Location": f"/api/v1/risk/rules/{rule['rule_id']}"}


@rules_bp.get("/risk/rules/<int:rule_id>")
@allow("read")
def get_rule(rule_id: int) -> Any:
    """A risk rule with its audit trail."""
    with app_engine().connect() as conn:
        rule, editable = _visible(conn, rule_id)
        trail = rules.audit_trail(conn, rule_id)
    return jsonable({**rule, "editable": editable, "audit": trail})


def propose_rule(conn: Connection, comment: str, rule_id: int) -> Any:
    """Ask the national centre to publish this rule nationwide."""
    before = _editable(conn, rule_id)
    national = node_path(conn, before["node_id"]) == (before["node_id"],)
    proposals.must_not_be_national(national, f"risk rule {rule_id}")
    if before["proposal_status"] != "none":
        raise ApiError(
            409, "Already proposed", f"risk rule {rule_id} is {before['proposal_status']}"
        )
    return jsonable(rules.propose(conn, before, actor(), comment))


proposals.add_propose_route(
    rules_bp, "/risk/rules/<int:rule_id>/propose", "rules:write", propose_rule
)


@rules_bp.post("/risk/rules/<int:rule_id>/publish")
@allow("rules:publish")
def publish_rule(rule_id: int) -> Any:
    """Publish a proposed rule at national scope ("one discovery, nationwide warning")."""
    proposals.national_only("risk rules")
    with app_engine().begin() as conn:
        before = _editable(conn, rule_id)
        proposals.must_be_proposed(before["proposal_status"], f"risk rule {rule_id}")
        root = visible_node(conn, None)
        after = rules.publish(conn, before, actor(), root)
    return jsonable(after)


@rules_bp.get("/risk/rules/<int:rule_id>/precision")
@allow("read")
def rule_precision(rule_id: int) -> Any:
    """Confirmed / reviewed among the declarations this rule hit in the caller's subtree."""
    with app_engine().connect() as conn:
        _visible(conn, rule_id)
        return queue.rule_precision(conn, rule_id, principal().node_id)
