"""Writes of evaluation results: alert_instance, alert_history and the alert_event outbox.

Also alert_rule_status (each rule's health) and, for an acknowledgement, its audit_log row
(through ``alerter.rules.store.write_audit``). A cycle's results are saved in one statement per
table, in the evaluation's transaction, so a notification exists exactly when its state change
does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from alerter.evaluation import outcome_rows
from alerter.evaluation.evaluate import Outcome
from alerter.rules.store import Actor, write_audit


def acknowledge(
    conn: Connection, fingerprint: str, actor: Actor, comment: str, until: datetime
) -> dict[str, Any] | None:
    """Acknowledge until ``until``: repeats are held back till then (delivery.stages)."""
    row = _set_ack(
        conn,
        "acknowledged_at = now(), acknowledged_by = :actor, ack_comment = :comment,"
        " ack_until = :until",
        {"actor": actor.name, "comment": comment, "until": until, "fp": fingerprint},
    )
    if row is None:
        return None
    reason = f"acknowledged by {actor.name}" + (f": {comment}" if comment else "")
    _ack_history(conn, row, fingerprint, reason)
    details = {"comment": comment, "until": until.isoformat()}
    write_audit(conn, actor, "ack", "alert", fingerprint, row["node_id"], None, details)
    return dict(row)


def unacknowledge(conn: Connection, fingerprint: str, actor: Actor) -> dict[str, Any] | None:
    """Withdraw the acknowledgement: the next repeat is sent when due."""
    row = _set_ack(
        conn,
        "acknowledged_at = NULL, acknowledged_by = NULL, ack_comment = NULL, ack_until = NULL",
        {"fp": fingerprint},
    )
    if row is None:
        return None
    _ack_history(conn, row, fingerprint, f"acknowledgement withdrawn by {actor.name}")
    write_audit(conn, actor, "unack", "alert", fingerprint, row["node_id"], None, {})
    return dict(row)


def _set_ack(conn: Connection, assignments: str, params: dict[str, Any]) -> Any:
    return (
        conn.execute(
            text(
                f"UPDATE alert_instance SET {assignments} WHERE fingerprint = :fp"
                " RETURNING rule_id, node_id, labels, state, last_value, acknowledged_at,"
                " ack_until, now() AS at"
            ),
            params,
        )
        .mappings()
        .first()
    )


def _ack_history(conn: Connection, row: Mapping[str, Any], fingerprint: str, reason: str) -> None:
    conn.execute(
        text(
            "INSERT INTO alert_history (at, rule_id, fingerprint, node_id, labels, from_state,"
            " to_state, value, reason) VALUES (:at, :rule_id, :fp, :node_id, CAST(:labels AS"
            " jsonb), :state, :state, :value, :reason)"
        ),
        {
            **row,
            "fp": fingerprint,
            "labels": json.dumps(row["labels"], ensure_ascii=False),
            "value": row["last_value"],
            "reason": reason,
        },
    )


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
