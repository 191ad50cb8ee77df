"""The only writer of the alerter's rule tables: rules, overrides, instances, history, audit log.

Every configuration change writes its audit_log row in the same transaction as the change, so
the log cannot miss a change that happened, nor record one that rolled back. Evaluation
results (instances, history, outbox rows) are saved in one statement per table.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.engine import Connection

from alerter import outcome_rows
from alerter.evaluate import Outcome
from alerter.inheritance import Override
from alerter.queries import StoredRule, get_rule, get_rule_by_name
from alerter.rules import AnyRule


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a token (API), an operator account (CLI) or the seed."""

    name: str
    token_id: int | None = None
    node_id: str | None = None


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


def write_audit(
    conn: Connection,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str,
    node_id: str | None,
    before: Any = None,
    after: Any = None,
) -> None:
    """Record one change; other alerter modules (channels, silences) call this too."""
    conn.execute(
        text(
            "INSERT INTO audit_log (actor, actor_token_id, actor_node_id, action, object_type,"
            " object_id, node_id, before, after) VALUES (:actor, :token, :actor_node, :action,"
            " :type, :id, :node, CAST(:before AS jsonb), CAST(:after AS jsonb))"
        ),
        {
            "actor": actor.name,
            "token": actor.token_id,
            "actor_node": actor.node_id,
            "action": action,
            "type": object_type,
            "id": object_id,
            "node": node_id,
            "before": _dumps(before),
            "after": _dumps(after),
        },
    )


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


def update_rule(conn: Connection, before: StoredRule, rule: AnyRule, actor: Actor) -> StoredRule:
    conn.execute(
        text(
            "UPDATE alert_rule SET name = :name, node_id = :node_id, kind = :kind, level = :level,"
            " indicator_code = :indicator, severity = :severity, enabled = :enabled,"
            " override_policy = :policy, spec = CAST(:spec AS jsonb), version = version + 1,"
            " updated_at = now(), updated_by = :actor WHERE rule_id = :id"
        ),
        {**_columns(rule), "actor": actor.name, "id": before.rule_id},
    )
    after = _must(conn, before.rule_id)
    write_audit(
        conn,
        actor,
        "update",
        "rule",
        str(before.rule_id),
        after.node_id,
        before.as_json(),
        after.as_json(),
    )
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


def propose(conn: Connection, before: StoredRule, actor: Actor, comment: str) -> StoredRule:
    conn.execute(
        text(
            "UPDATE alert_rule SET proposal_status = 'proposed', proposed_at = now(),"
            " proposed_by = :actor, proposal_comment = :comment WHERE rule_id = :id"
        ),
        {"actor": actor.name, "comment": comment, "id": before.rule_id},
    )
    after = _must(conn, before.rule_id)
    write_audit(
        conn,
        actor,
        "propose",
        "rule",
        str(before.rule_id),
        before.node_id,
        before.as_json(),
        after.as_json(),
    )
    return after


def publish(conn: Connection, before: StoredRule, rule: AnyRule, actor: Actor) -> StoredRule:
    """Move a proposed rule to national scope; `rule` is its spec re-homed at the root node."""
    conn.execute(
        text(
            "UPDATE alert_rule SET node_id = :node_id, override_policy = :policy,"
            " spec = CAST(:spec AS jsonb), proposal_status = 'published', published_at = now(),"
            " published_by = :actor, version = version + 1, updated_at = now(),"
            " updated_by = :actor WHERE rule_id = :id"
        ),
        {**_columns(rule), "actor": actor.name, "id": before.rule_id},
    )
    after = _must(conn, before.rule_id)
    # Logged at the origin node so the proposing office sees its rule was published.
    write_audit(
        conn,
        actor,
        "publish",
        "rule",
        str(before.rule_id),
        before.origin_node_id,
        before.as_json(),
        after.as_json(),
    )
    return after


def put_override(conn: Connection, rule: StoredRule, override: Override, actor: Actor) -> None:
    before = (
        conn.execute(
            text(
                "SELECT threshold, recovery_threshold, override_policy, comment FROM"
                " alert_rule_override WHERE rule_id = :r AND node_id = :n"
            ),
            {"r": rule.rule_id, "n": override.node_id},
        )
        .mappings()
        .first()
    )
    row = {
        "threshold": override.threshold,
        "recovery_threshold": override.recovery_threshold,
        "override_policy": override.override_policy,
        "comment": override.comment,
    }
    conn.execute(
        text(
            "INSERT INTO alert_rule_override (rule_id, node_id, threshold, recovery_threshold,"
            " override_policy, comment, set_by) VALUES (:r, :n, :threshold, :recovery_threshold,"
            " :override_policy, :comment, :actor) ON CONFLICT (rule_id, node_id) DO UPDATE SET"
            " threshold = EXCLUDED.threshold, recovery_threshold = EXCLUDED.recovery_threshold,"
            " override_policy = EXCLUDED.override_policy, comment = EXCLUDED.comment,"
            " set_by = EXCLUDED.set_by, set_at = now()"
        ),
        {**row, "r": rule.rule_id, "n": override.node_id, "actor": actor.name},
    )
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
    row = (
        conn.execute(
            text(
                "DELETE FROM alert_rule_override WHERE rule_id = :r AND node_id = :n RETURNING"
                " threshold, recovery_threshold, override_policy, comment"
            ),
            {"r": rule.rule_id, "n": node_id},
        )
        .mappings()
        .first()
    )
    if row is None:
        return False
    object_id = f"{rule.rule_id}@{node_id}"
    write_audit(conn, actor, "delete", "override", object_id, node_id, dict(row))
    return True


def acknowledge(
    conn: Connection, fingerprint: str, actor: Actor, comment: str
) -> dict[str, Any] | None:
    row = (
        conn.execute(
            text(
                "UPDATE alert_instance SET acknowledged_at = now(), acknowledged_by = :actor,"
                " ack_comment = :comment WHERE fingerprint = :fp"
                " RETURNING rule_id, node_id, labels, state, last_value, acknowledged_at"
            ),
            {"actor": actor.name, "comment": comment, "fp": fingerprint},
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    conn.execute(
        text(
            "INSERT INTO alert_history (at, rule_id, fingerprint, node_id, labels, from_state,"
            " to_state, value, reason) VALUES (:at, :rule_id, :fp, :node_id, CAST(:labels AS"
            " jsonb), :state, :state, :value, :reason)"
        ),
        {
            **row,
            "at": row["acknowledged_at"],
            "fp": fingerprint,
            "labels": json.dumps(row["labels"], ensure_ascii=False),
            "value": row["last_value"],
            "reason": f"acknowledged by {actor.name}" + (f": {comment}" if comment else ""),
        },
    )
    write_audit(
        conn, actor, "ack", "alert", fingerprint, row["node_id"], None, {"comment": comment}
    )
    return dict(row)


def _must(conn: Connection, rule_id: int) -> StoredRule:
    stored = get_rule(conn, rule_id)
    assert stored is not None
    return stored


# -- evaluation results -------------------------------------------------------------------


def save_outcomes(
    conn: Connection,
    outcomes: Sequence[Outcome],
    health_before: Mapping[int, str],
    durations_ms: Mapping[int, float],
    now: datetime,
) -> int:
    """Persist one evaluation cycle; return the number of outbox rows written."""
    instances, removed, history, events, statuses = outcome_rows.build(
        outcomes, health_before, durations_ms, now
    )
    if removed:
        conn.execute(
            text("DELETE FROM alert_instance WHERE fingerprint = ANY (CAST(:fps AS text[]))"),
            {"fps": removed},
        )
    unchanged = [fp for outcome in outcomes for fp in outcome.unchanged]
    if unchanged:
        # Nothing but the evaluation time changed: a narrow update, no JSON to rewrite.
        conn.execute(
            text(
                "UPDATE alert_instance SET last_eval = :now"
                " WHERE fingerprint = ANY (CAST(:fps AS text[]))"
            ),
            {"now": now, "fps": unchanged},
        )
    for sql, rows in (
        (outcome_rows.UPSERT_INSTANCES, instances),
        (outcome_rows.INSERT_HISTORY, history),
        (outcome_rows.INSERT_EVENTS, events),
        (outcome_rows.UPSERT_STATUS, statuses),
    ):
        if rows:
            conn.execute(text(sql), {"rows": json.dumps(rows, ensure_ascii=False, default=str)})
    return len(events)
