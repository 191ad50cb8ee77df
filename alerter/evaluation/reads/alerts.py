"""Reads of evaluation's tables: alert_instance, alert_history, alert_rule_status; writes none.

Visibility is part of every list: ``root`` is the caller's org node, and only rows whose node
lies in root's subtree come back (``:root = ANY (org_node.path)``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from alerter.evaluation.alert_state import Instance, State
from alerter.rules.reads import SubtreeListing, json_rows


def rule_health(conn: Connection) -> dict[int, str]:
    rows = conn.execute(text("SELECT rule_id, health FROM alert_rule_status"))
    return {row[0]: row[1] for row in rows}


def rule_status(conn: Connection, rule_id: int) -> dict[str, Any] | None:
    sql = (
        "SELECT health, last_error, last_eval_at, duration_ms, instances"
        " FROM alert_rule_status WHERE rule_id = :id"
    )
    found = json_rows(conn, sql, {"id": rule_id})
    return found[0] if found else None


_INSTANCE_COLUMNS = (
    "fingerprint, rule_id, node_id, severity, labels, state, since, last_eval, fired_at,"
    " last_value, notified, missing_evals, error, annotations"
)


def load_instances(conn: Connection) -> dict[int, dict[str, Instance]]:
    """Every stored (non-Normal) instance, by rule id then fingerprint."""
    out: dict[int, dict[str, Instance]] = defaultdict(dict)
    for row in conn.execute(text(f"SELECT {_INSTANCE_COLUMNS} FROM alert_instance")):
        values = list(row)
        values[5] = State(values[5])
        instance = Instance(*values)
        out[instance.rule_id][instance.fingerprint] = instance
    return out


def instance_node(conn: Connection, fingerprint: str) -> str | None:
    return conn.execute(
        text("SELECT node_id FROM alert_instance WHERE fingerprint = :fp"), {"fp": fingerprint}
    ).scalar()


ALERTS = SubtreeListing(
    select="SELECT i.fingerprint, i.rule_id, i.node_id, i.severity, i.state, i.since, i.fired_at,"
    " i.last_value, i.last_eval, i.labels, i.annotations, i.error, i.acknowledged_at,"
    " i.acknowledged_by, i.ack_comment, i.ack_until FROM alert_instance i"
    " JOIN org_node n ON n.node_id = i.node_id",
    clauses={
        "state": "i.state = :state",
        "severity": "i.severity = :severity",
        "rule_id": "i.rule_id = CAST(:rule_id AS int)",
        "node": "n.path @> ARRAY[CAST(:node AS text)]",
    },
    order="i.since DESC, i.fingerprint",
)

HISTORY = SubtreeListing(
    select="SELECT h.at, h.rule_id, h.fingerprint, h.node_id, h.labels, h.from_state, h.to_state,"
    " h.value, h.reason FROM alert_history h JOIN org_node n ON n.node_id = h.node_id",
    clauses={
        "rule_id": "h.rule_id = CAST(:rule_id AS int)",
        "fingerprint": "h.fingerprint = :fingerprint",
        "node": "n.path @> ARRAY[CAST(:node AS text)]",
        "state": "h.to_state = :state",
        "since": "h.at >= CAST(:since AS timestamptz)",
        "until": "h.at < CAST(:until AS timestamptz)",
    },
    order="h.at DESC, h.history_id DESC",
)
