"""One evaluation cycle's outcomes as rows for evaluation.store.save_outcomes; pure.

Rows travel to PostgreSQL as one JSON array per table (``jsonb_to_recordset``), so a cycle that
changes a thousand instances costs four statements, not four thousand.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from alerter.evaluation.alert_state import Instance, Transition
from alerter.evaluation.evaluate import Outcome

Row = dict[str, Any]

UPSERT_INSTANCES = """
INSERT INTO alert_instance (fingerprint, rule_id, node_id, severity, labels, annotations, state,
                            since, fired_at, last_value, last_eval, notified, missing_evals, error)
SELECT x.fingerprint, x.rule_id, x.node_id, x.severity, x.labels, x.annotations, x.state,
       x.since, x.fired_at, x.last_value, x.last_eval, x.notified, x.missing_evals, x.error
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(
    fingerprint text, rule_id int, node_id text, severity text, labels jsonb, annotations jsonb,
    state text, since timestamptz, fired_at timestamptz, last_value float8,
    last_eval timestamptz, notified text, missing_evals int, error text)
ON CONFLICT (fingerprint) DO UPDATE SET
    severity = EXCLUDED.severity, labels = EXCLUDED.labels, annotations = EXCLUDED.annotations,
    state = EXCLUDED.state, since = EXCLUDED.since, fired_at = EXCLUDED.fired_at,
    last_value = EXCLUDED.last_value, last_eval = EXCLUDED.last_eval,
    notified = EXCLUDED.notified, missing_evals = EXCLUDED.missing_evals, error = EXCLUDED.error
"""

INSERT_HISTORY = """
INSERT INTO alert_history (at, rule_id, fingerprint, node_id, labels, from_state, to_state,
                           value, reason)
SELECT x.at, x.rule_id, x.fingerprint, x.node_id, coalesce(x.labels, '{}'), x.from_state,
       x.to_state, x.value, x.reason
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(
    at timestamptz, rule_id int, fingerprint text, node_id text, labels jsonb, from_state text,
    to_state text, value float8, reason text)
"""

# WITH ORDINALITY keeps the outbox in transition order (event_id is the dispatch order).
INSERT_EVENTS = """
INSERT INTO alert_event (fingerprint, rule_id, node_id, status, severity, labels, annotations,
                         value, starts_at, ends_at)
SELECT e.j ->> 'fingerprint', (e.j ->> 'rule_id')::int, e.j ->> 'node_id', e.j ->> 'status',
       e.j ->> 'severity', e.j -> 'labels', e.j -> 'annotations', (e.j ->> 'value')::float8,
       (e.j ->> 'starts_at')::timestamptz, (e.j ->> 'ends_at')::timestamptz
FROM jsonb_array_elements(CAST(:rows AS jsonb)) WITH ORDINALITY AS e(j, n)
ORDER BY e.n
"""

UPSERT_STATUS = """
INSERT INTO alert_rule_status (rule_id, health, last_error, last_eval_at, duration_ms, instances)
SELECT x.rule_id, x.health, x.last_error, x.last_eval_at, x.duration_ms, x.instances
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(
    rule_id int, health text, last_error text, last_eval_at timestamptz, duration_ms float8,
    instances int)
WHERE EXISTS (SELECT FROM alert_rule r WHERE r.rule_id = x.rule_id)
ON CONFLICT (rule_id) DO UPDATE SET
    health = EXCLUDED.health, last_error = EXCLUDED.last_error,
    last_eval_at = EXCLUDED.last_eval_at, duration_ms = EXCLUDED.duration_ms,
    instances = EXCLUDED.instances
"""


def _number(value: float | None) -> float | None:
    # JSON has no NaN or infinity, and jsonb refuses them.
    return value if value is not None and math.isfinite(value) else None


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def instance_row(instance: Instance) -> Row:
    return {
        "fingerprint": instance.fingerprint,
        "rule_id": instance.rule_id,
        "node_id": instance.node_id,
        "severity": instance.severity,
        "labels": dict(instance.labels),
        "annotations": dict(instance.annotations),
        "state": instance.state.value,
        "since": _time(instance.since),
        "fired_at": _time(instance.fired_at),
        "last_value": _number(instance.last_value),
        "last_eval": _time(instance.last_eval),
        "notified": instance.notified,
        "missing_evals": instance.missing_evals,
        "error": instance.error,
    }


def history_row(transition: Transition, now: datetime) -> Row:
    instance = transition.instance
    return {
        "at": _time(now),
        "rule_id": instance.rule_id,
        "fingerprint": instance.fingerprint,
        "node_id": instance.node_id,
        "labels": dict(instance.labels),
        "from_state": transition.from_state.value if transition.from_state else None,
        "to_state": transition.to_state.value,
        "value": _number(instance.last_value),
        "reason": transition.reason,
    }


def event_row(transition: Transition, now: datetime) -> Row:
    instance = transition.instance
    return {
        "fingerprint": instance.fingerprint,
        "rule_id": instance.rule_id,
        "node_id": instance.node_id,
        "status": transition.notify,
        "severity": instance.severity,
        "labels": dict(instance.labels),
        "annotations": dict(instance.annotations),
        "value": _number(instance.last_value),
        "starts_at": _time(instance.fired_at or instance.since),
        "ends_at": _time(now) if transition.notify == "resolved" else None,
    }


def _health_rows(
    outcome: Outcome, before: str | None, duration_ms: float, now: datetime
) -> tuple[Row | None, Row | None]:
    if outcome.health == "gone":
        return None, None
    status = {
        "rule_id": outcome.rule_id,
        "health": outcome.health,
        "last_error": outcome.error,
        "last_eval_at": _time(now),
        "duration_ms": duration_ms,
        "instances": len(outcome.instances),
    }
    if (before or "ok") == outcome.health:
        return status, None
    history = {
        "at": _time(now),
        "rule_id": outcome.rule_id,
        "fingerprint": None,
        "node_id": outcome.node_id or None,
        "labels": {"alertname": outcome.rule_name} if outcome.rule_name else {},
        "from_state": f"health:{before or 'ok'}",
        "to_state": f"health:{outcome.health}",
        "value": None,
        "reason": outcome.error or f"rule health {outcome.health}",
    }
    return status, history


def build(
    outcomes: Sequence[Outcome],
    health_before: Mapping[int, str],
    durations_ms: Mapping[int, float],
    now: datetime,
) -> tuple[list[Row], list[str], list[Row], list[Row], list[Row]]:
    """(instances to upsert, fingerprints to delete, history rows, outbox rows, status rows)."""
    instances, removed, history, events, statuses = [], [], [], [], []
    for outcome in outcomes:
        instances += [
            instance_row(i) for i in outcome.instances if i.fingerprint not in outcome.unchanged
        ]
        removed += outcome.removed
        for transition in outcome.transitions:
            history.append(history_row(transition, now))
            if transition.notify is not None:
                events.append(event_row(transition, now))
        status, health = _health_rows(
            outcome, health_before.get(outcome.rule_id), durations_ms.get(outcome.rule_id, 0.0), now
        )
        if status is not None:
            statuses.append(status)
        if health is not None:
            history.append(health)
    return instances, removed, history, events, statuses
