"""Writes of the rule tables: alert_rule, alert_rule_override and audit_log (the only writer).

Every configuration change writes its audit_log row in the same transaction as the change, so
the log cannot miss a change that happened, nor record one that rolled back. Other parts log
their changes through ``write_audit`` (evaluation's acknowledgements); the instance, history
and outbox tables are written by ``alerter.evaluation.store``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.engine import Connection

from alerter.rules.inheritance import Override
from alerter.rules.kinds import AnyRule
from alerter.rules.reads import StoredRule, get_rule, get_rule_by_name
from quaywatch.audit import write_audit as write_audit  # also for channels, silences, acks


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a token (API), an operator account (CLI) or the seed."""

    name: str
    token_id: int | None = None
    node_id: str | None = None


def _columns(rule: AnyRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "node_id": rule.node_id,
        "kind": rule.kind,
        "level": rule.level,
        "indicator": rule.indicator_code,
        "severity": rule.severity,
        "enabled": rule.enabled,
        "policy": rule.override_policy,
        "spec": json.dumps(rule.as_spec(), ensure_ascii=False),
    }


def create_rule(conn: Connection, rule: AnyRule, actor: Actor) -> StoredRule:
    rule_id = conn.execute(
        text(
            "INSERT INTO alert_rule (name, node_id, kind, level, indicator_code, severity, enabled,"
            " override_policy, spec, origin_node_id, created_by, updated_by) VALUES (:name,"
            " :node_id, :kind, :level, :indicator, :severity, :enabled, :policy,"
            " CAST(:spec AS jsonb), :node_id, :actor, :actor) RETURNING rule_id"
        ),
        {**_columns(rule), "actor": actor.name},
    ).scalar_one()
    stored = _must(conn, rule_id)
    write_audit(conn, actor, "create", "rule", str(rule_id), rule.node_id, None, stored.as_json())
    return stored


# What every change of a rule's spec sets: its node, policy and spec, as a new version.
_NEW_VERSION = (
    "node_id = :node_id, override_policy = :policy, spec = CAST(:spec AS jsonb),"
    " version = version + 1, updated_at = now(), updated_by = :actor"
)
_UPDATE = (
    "UPDATE alert_rule SET name = :name, kind = :kind, level = :level,"
    " indicator_code = :indicator, severity = :severity, enabled = :enabled,"
    f" {_NEW_VERSION} WHERE rule_id = :id"
)


def update_rule(conn: Connection, before: StoredRule, rule: AnyRule, actor: Actor) -> StoredRule:
    return _logged_update(conn, before, actor, "update", _UPDATE, _columns(rule), rule.node_id)


def _logged_update(
    conn: Connection,
    before: StoredRule,
    actor: Actor,
    action: str,
    sql: str,
    params: dict[str, Any],
    logged_at: str,
) -> StoredRule:
    """Run one UPDATE of the rule (``:id``, ``:actor``) and log it, before and after, at the
    node ``logged_at``."""
    conn.execute(text(sql), {**params, "actor": actor.name, "id": before.rule_id})
    after = _must(conn, before.rule_id)
    rule_id = str(before.rule_id)
    write_audit(conn, actor, action, "rule", rule_id, logged_at, before.as_json(), after.as_json())
    return after


def delete_rule(conn: Connection, before: StoredRule, actor: Actor) -> None:
    """Delete a rule; its instances are resolved by the next evaluation (no FK on purpose)."""
    conn.execute(text("DELETE FROM alert_rule WHERE rule_id = :id"), {"id": before.rule_id})
    write_audit(
        conn, actor, "delete", "rule", str(before.rule_id), before.node_id, before.as_json()
    )


Applied = Literal["created", "updated", "unchanged"]


def apply_rule(
    conn: Connection, rule: AnyRule, actor: Actor, only_if_absent: bool = False
) -> tuple[Applied, StoredRule]:
    """Upsert by the rule's stable name (for `rules apply` and the seed)."""
    existing = get_rule_by_name(conn, rule.name)
    if existing is None:
        return "created", create_rule(conn, rule, actor)
    if only_if_absent or existing.spec == rule.as_spec():
        return "unchanged", existing
    return "updated", update_rule(conn, existing, rule, actor)


_PROPOSE = (
    "UPDATE alert_rule SET proposal_status = 'proposed', proposed_at = now(),"
    " proposed_by = :actor, proposal_comment = :comment WHERE rule_id = :id"
)


def propose(conn: Connection, before: StoredRule, actor: Actor, comment: str) -> StoredRule:
    return _logged_update(
        conn, before, actor, "propose", _PROPOSE, {"comment": comment}, before.node_id
    )


_PUBLISH = (
    "UPDATE alert_rule SET proposal_status = 'published', published_at = now(),"
    f" published_by = :actor, {_NEW_VERSION} WHERE rule_id = :id"
)


def publish(conn: Connection, before: StoredRule, rule: AnyRule, actor: Actor) -> StoredRule:
    """Move a proposed rule to national scope; `rule` is its spec re-homed at the root node."""
    # Logged at the origin node so the proposing office sees its rule was published.
    return _logged_update(
        conn, before, actor, "publish", _PUBLISH, _columns(rule), before.origin_node_id
    )


_OVERRIDE = text(
    "SELECT threshold, recovery_threshold, override_policy, comment FROM alert_rule_override"
    " WHERE rule_id = :r AND node_id = :n"
)
_PUT_OVERRIDE = text(
    "INSERT INTO alert_rule_override (rule_id, node_id, threshold, recovery_threshold,"
    " override_policy, comment, set_by) VALUES (:r, :n, :threshold, :recovery_threshold,"
    " :override_policy, :comment, :actor) ON CONFLICT (rule_id, node_id) DO UPDATE SET"
    " threshold = EXCLUDED.threshold, recovery_threshold = EXCLUDED.recovery_threshold,"
    " override_policy = EXCLUDED.override_policy, comment = EXCLUDED.comment,"
    " set_by = EXCLUDED.set_by, set_at = now()"
)
# The audit log keeps what was deleted.
_DELETE_OVERRIDE = text(
    "DELETE FROM alert_rule_override WHERE rule_id = :r AND node_id = :n"
    " RETURNING threshold, recovery_threshold, override_policy, comment"
)


def put_override(conn: Connection, rule: StoredRule, override: Override, actor: Actor) -> None:
    key = {"r": rule.rule_id, "n": override.node_id}
    before = conn.execute(_OVERRIDE, key).mappings().first()
    row = {
        "threshold": override.threshold,
        "recovery_threshold": override.recovery_threshold,
        "override_policy": override.override_policy,
        "comment": override.comment,
    }
    conn.execute(_PUT_OVERRIDE, {**row, **key, "actor": actor.name})
    action = "create" if before is None else "update"
    object_id = f"{rule.rule_id}@{override.node_id}"
    write_audit(
        conn,
        actor,
        action,
        "override",
        object_id,
        override.node_id,
        dict(before) if before else None,
        row,
    )


def delete_override(conn: Connection, rule: StoredRule, node_id: str, actor: Actor) -> bool:
    row = conn.execute(_DELETE_OVERRIDE, {"r": rule.rule_id, "n": node_id}).mappings().first()
    if row is None:
        return False
    object_id = f"{rule.rule_id}@{node_id}"
    write_audit(conn, actor, "delete", "override", object_id, node_id, dict(row))
    return True


def _must(conn: Connection, rule_id: int) -> StoredRule:
    stored = get_rule(conn, rule_id)
    assert stored is not None
    return stored
