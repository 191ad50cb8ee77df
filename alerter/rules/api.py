"""Rules over HTTP: CRUD, overrides, propose/publish, effective rules, audit (via rules.store).

Visibility: a token sees rules at nodes in its subtree (and may change them, with rules:write)
and the rules of its ancestors, read-only, because those reach into its subtree; it never sees
a sibling's. A national (CN) admin sees everything and alone publishes proposals nationwide.
"""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, Response, request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Connection

from alerter.rules import reads, store
from alerter.rules.access import (
    TYPED_FILTERS,
    actor,
    editable_rule,
    filtered_page,
    parse_draft,
    rule_json,
    stored_rule,
    visible_rule,
)
from alerter.rules.effective import effective_rules
from alerter.rules.inheritance import Override, check_new_override
from alerter.rules.kinds import AnyRule, Policy, rule_json_schema
from quaywatch.errors import ApiError
from quaywatch.http import proposals
from quaywatch.http.openapi import body
from quaywatch.http.routes import allow
from quaywatch.http.support import (
    PAGE,
    Param,
    field_problem,
    filters,
    in_subtree,
    json_object,
    node_path,
    page,
    page_args,
    principal,
    require_in_subtree,
    validated,
)
from quaywatch.web import app_engine

bp = Blueprint("rules", __name__)
RULE_BODY = rule_json_schema()
# A PATCH body: any fields of one kind, none required (the merged rule must be whole).
PATCH_BODY = {
    "anyOf": [{k: v for k, v in kind.items() if k != "required"} for kind in RULE_BODY["oneOf"]]
}
# The list filters (reads.RULE_FILTERS, reads.AUDIT clauses), each an exact match.
RULE_QUERY = (
    Param("kind", description="threshold, forecast, deadline, no_data, ..."),
    Param("severity"),
    Param("node_id", description="rules attached at this node"),
    Param("proposal_status"),
    Param("indicator", description="an indicator code"),
    Param("enabled", "boolean"),
)
AUDIT_QUERY = (
    Param("object_type", description="rule, override, channel, silence, ..."),
    Param("object_id"),
    Param("action"),
    Param("actor", description="the token name that made the change"),
)


@bp.get("/rules")
@allow("read", *PAGE, *RULE_QUERY)
def list_rules() -> Any:
    """Rules visible to the token: its subtree's (editable) and its ancestors' (read-only)."""
    limit, offset = page_args()
    with app_engine().connect() as conn:
        own = node_path(conn, principal().node_id) or (principal().node_id,)
        rows = reads.list_rules(
            conn, own, filters(reads.RULE_FILTERS, TYPED_FILTERS), limit + 1, offset
        )
    items = [{**rule.as_json(), "editable": editable} for rule, editable in rows]
    return page(items, limit, offset)


@bp.post("/rules")
@allow("rules:write")
@body(RULE_BODY)
def create_rule() -> Any:
    """Create a rule (threshold, forecast, deadline or no_data) at a node of the subtree."""
    with app_engine().begin() as conn:
        rule = parse_draft(conn, json_object())
        _check_name_free(conn, rule.name, None)
        stored = store.create_rule(conn, rule, actor())
        body = rule_json(conn, stored, True)
    return body, 201, {"Location": f"/api/v1/rules/{stored.rule_id}"}


@bp.get("/rules/<int:rule_id>")
@allow("read")
def get_rule(rule_id: int) -> Any:
    """One rule with its overrides and its health; ETag is its version."""
    with app_engine().connect() as conn:
        stored, editable = visible_rule(conn, rule_id)
        return rule_json(conn, stored, editable), 200, {"ETag": f'"{stored.version}"'}


@bp.put("/rules/<int:rule_id>")
@allow("rules:write")
@body(RULE_BODY)
def replace_rule(rule_id: int) -> Any:
    """Replace a rule (If-Match: "<version>" guards against lost updates)."""
    with app_engine().begin() as conn:
        before = _current_version(conn, rule_id)
        return _updated(conn, before, json_object())


@bp.patch("/rules/<int:rule_id>")
@allow("rules:write")
@body(PATCH_BODY)
def patch_rule(rule_id: int) -> Any:
    """Change some fields of a rule: merged into the stored rule, then validated whole as PUT."""
    with app_engine().begin() as conn:
        before = _current_version(conn, rule_id)
        # The whole merged rule goes through the create model, so an explicit null is a 422
        # naming the field unless the field itself may be null (recovery_threshold: cleared).
        return _updated(conn, before, {**before.spec, **json_object()})


@bp.delete("/rules/<int:rule_id>")
@allow("rules:write")
def delete_rule(rule_id: int) -> Any:
    """Delete a rule; its firing alerts resolve at the next evaluation."""
    with app_engine().begin() as conn:
        before = _current_version(conn, rule_id)
        store.delete_rule(conn, before, actor())
    return Response(status=204)


def _check_name_free(conn: Any, name: str, rule_id: int | None) -> None:
    existing = reads.get_rule_by_name(conn, name)
    if existing is not None and existing.rule_id != rule_id:
        raise field_problem("name", f"rule {existing.rule_id} is named {name!r}", 409, "Name taken")


def _current_version(conn: Any, rule_id: int) -> reads.StoredRule:
    """The rule a PUT, PATCH or DELETE changes: editable by the token, and at the version the
    client names in If-Match (when it sends one)."""
    before = editable_rule(conn, rule_id)
    _check_version(before.version)
    return before


def _updated(conn: Any, before: reads.StoredRule, spec: dict[str, Any]) -> Any:
    """Store ``spec`` as the rule's next version, validated whole as a new rule would be (its
    name still free); the answer carries the new version as ETag."""
    rule = parse_draft(conn, spec, default_node=before.node_id)
    _check_name_free(conn, rule.name, before.rule_id)
    after = store.update_rule(conn, before, rule, actor())
    return rule_json(conn, after, True), 200, {"ETag": f'"{after.version}"'}


def _check_version(current: int) -> None:
    """Optimistic concurrency: If-Match "<version>" must match when the client sends it."""
    wanted = request.headers.get("If-Match")
    if wanted and wanted.strip('W/"') != str(current):
        raise ApiError(412, "Precondition failed", f"the rule is at version {current}")


class OverrideBody(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    threshold: float
    recovery_threshold: float | None = None
    override_policy: Policy | None = None
    comment: str = Field("", max_length=500)


@bp.put("/rules/<int:rule_id>/overrides/<node_id>")
@allow("rules:write")
@body(OverrideBody)
def put_override(rule_id: int, node_id: str) -> Any:
    """Set a node's own value of the rule's tunable parameter for its subtree."""
    with app_engine().begin() as conn:
        stored, editable = visible_rule(conn, rule_id)
        path = require_in_subtree(conn, node_id)
        body = _override_body()
        override = Override(
            node_id,
            path,
            body.threshold,
            body.recovery_threshold,
            body.override_policy,
            actor().name,
            body.comment,
        )
        _check_override(conn, stored.rule_id, stored_rule(stored), override)
        store.put_override(conn, stored, override, actor())
        return rule_json(conn, stored, editable)


def _override_body() -> OverrideBody:
    return validated(OverrideBody, json_object(), title="Invalid override")


def _check_override(conn: Any, rule_id: int, rule: AnyRule, override: Override) -> None:
    if rule.node_id not in override.path[:-1]:
        raise field_problem(
            "node_id",
            f"{override.node_id} is not below the rule's node {rule.node_id}",
            title="Invalid override",
        )
    others = reads.load_overrides(conn, [rule_id]).get(rule_id, [])
    refusal = check_new_override(rule, others, override)
    if refusal:
        raise field_problem("threshold", refusal, title="Override refused")


@bp.delete("/rules/<int:rule_id>/overrides/<node_id>")
@allow("rules:write")
def delete_override(rule_id: int, node_id: str) -> Any:
    """Remove a node's override; the node inherits again."""
    with app_engine().begin() as conn:
        stored, _ = visible_rule(conn, rule_id)
        require_in_subtree(conn, node_id)
        if not store.delete_override(conn, stored, node_id, actor()):
            raise ApiError(404, "Not found", f"rule {rule_id} has no override at {node_id}")
    return Response(status=204)


def propose_rule(conn: Connection, comment: str, rule_id: int) -> Any:
    """Propose a customs or office rule for national scope."""
    before = editable_rule(conn, rule_id)
    national = node_path(conn, before.node_id) == (before.node_id,)
    proposals.must_not_be_national(national, f"rule {rule_id}")
    return rule_json(conn, store.propose(conn, before, actor(), comment), True)


proposals.add_propose_route(bp, "/rules/<int:rule_id>/propose", "rules:write", propose_rule)


class PublishBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    override_policy: Literal["none", "tighten_only", "any"] | None = None


@bp.post("/rules/<int:rule_id>/publish")
@allow("rules:publish")
@body(PublishBody)
def publish_rule(rule_id: int) -> Any:
    """Publish a proposed rule nationwide (national admins only)."""
    proposals.national_only("rules nationwide")
    caller = principal()
    body = validated(PublishBody, json_object(), title="Invalid body")
    with app_engine().begin() as conn:
        before = editable_rule(conn, rule_id)
        proposals.must_be_proposed(before.proposal_status, f"rule {rule_id}")
        spec = {**before.spec, "node_id": caller.node_id}
        if body.override_policy:
            spec["override_policy"] = body.override_policy
        after = store.publish(conn, before, stored_rule(before, spec), actor())
        return rule_json(conn, after, True)


@bp.get("/sites/<node_id>/effective-rules")
@allow("read")
def site_effective_rules(node_id: str) -> Any:
    """The rules reaching a site, the winning value of each and the reason chain."""
    with app_engine().connect() as conn:
        if not in_subtree(node_path(conn, node_id)):
            raise ApiError(404, "Not found", f"no node {node_id!r} in this token's subtree")
        return effective_rules(conn, node_id)


@bp.get("/audit")
@allow("read", *PAGE, *AUDIT_QUERY)
def list_audit() -> Any:
    """Who changed what and when, before and after, within the token's subtree."""
    return filtered_page(reads.AUDIT)
