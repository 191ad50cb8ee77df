"""Alerts over HTTP: list, acknowledge (via evaluation.store), history, preview and backtest.

Preview and backtest take a draft rule (or a stored one by id), read real data, and send
nothing: they exist so a centre can tune a threshold before it goes live.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from alerter.evaluation import store
from alerter.evaluation.alert_state import State
from alerter.evaluation.backtest import BacktestError, run_backtest
from alerter.evaluation.evaluate import evaluate
from alerter.evaluation.labels import Target, load_world
from alerter.evaluation.notify_sim import Timing
from alerter.evaluation.reads import alerts as reads
from alerter.evaluation.reads.series import observe
from alerter.evaluation.withheld import Candidate, statuses
from alerter.rules.access import actor, filtered_page, parse_draft, stored_rule, visible_rule
from alerter.rules.durations import Duration
from alerter.rules.inheritance import Override, resolve
from alerter.rules.kinds import AnyRule, rule_json_schema
from alerter.rules.reads import load_overrides
from quaywatch.errors import ApiError
from quaywatch.http.openapi import body
from quaywatch.http.routes import allow
from quaywatch.http.support import (
    PAGE,
    Param,
    field_problem,
    in_subtree,
    json_object,
    node_path,
    validated,
)
from quaywatch.web import app_engine

bp = Blueprint("alerts", __name__)
STATES = {state.value for state in State}
TARGET = {"rule": rule_json_schema(), "rule_id": {"type": "integer"}}
PREVIEW_BODY = {"type": "object", "properties": TARGET}
# The list filters (reads.ALERTS, reads.HISTORY clauses; typed as rules.access's).
RULE_ID = Param("rule_id", "integer", "alerts of this rule", 0, 2**31 - 1)
IN_NODE = Param("node", description="alerts of this node and those below it")
ALERT_QUERY = (Param("state", enum=tuple(sorted(STATES))), Param("severity"), RULE_ID, IN_NODE)
HISTORY_QUERY = (
    RULE_ID,
    Param("fingerprint"),
    IN_NODE,
    Param("state", description="the state entered"),
    Param("since", "date-time"),
    Param("until", "date-time"),
)


DEFAULT_ACK = timedelta(hours=4)  # one default repeat_interval: the next repeat is skipped
MAX_ACK = timedelta(days=7)


class AckBody(BaseModel):
    comment: str = Field("", max_length=1000)
    duration: Duration = DEFAULT_ACK  # how long repeats are held back, at most 7d


def _candidate(row: dict[str, Any]) -> Candidate:
    return Candidate(row["fingerprint"], row["labels"], row["severity"], row["node_id"],
                     row["since"])  # fmt: skip


@bp.get("/alerts")
@allow("read", *PAGE, *ALERT_QUERY)
def list_alerts() -> Any:
    """Alert instances that are not Normal, filtered by state, severity, node or rule; each
    with Alertmanager's ``status`` (why it is withheld, and its acknowledgement)."""
    listing = filtered_page(reads.ALERTS, {"state": STATES})
    items = listing["items"]
    with app_engine().connect() as conn:
        found = statuses(conn, [_candidate(i) for i in items], datetime.now(UTC))
    for item, status in zip(items, found, strict=True):
        item["status"] = status.as_json()
    return listing


def _visible_instance(conn: Any, fingerprint: str) -> None:
    node = reads.instance_node(conn, fingerprint)
    if node is None or not in_subtree(node_path(conn, node)):
        raise ApiError(404, "Not found", f"no alert {fingerprint} in this token's subtree")


@bp.post("/alerts/<fingerprint>/ack")
@allow("alerts:write")
@body(AckBody)
def acknowledge(fingerprint: str) -> Any:
    """Acknowledge an alert instance for ``duration`` (default 4h): its repeat notifications
    are held back until then or until withdrawn (recorded in its history and the audit log)."""
    with app_engine().begin() as conn:
        _visible_instance(conn, fingerprint)
        options = validated(AckBody, json_object(), title="Invalid body")
        if not timedelta(0) < options.duration <= MAX_ACK:
            raise field_problem(
                "duration", "must be more than 0 and at most 7d", title="Invalid body"
            )
        until = datetime.now(UTC) + options.duration
        acked = store.acknowledge(conn, fingerprint, actor(), options.comment, until)
    assert acked is not None
    return {
        "fingerprint": fingerprint,
        "acknowledged_at": acked["acknowledged_at"].isoformat(),
        "acknowledged_by": actor().name,
        "acknowledged_until": until.isoformat(),
        "comment": options.comment,
    }


@bp.delete("/alerts/<fingerprint>/ack")
@allow("alerts:write")
def unacknowledge(fingerprint: str) -> Any:
    """Withdraw an alert's acknowledgement: its next repeat is sent when due."""
    with app_engine().begin() as conn:
        _visible_instance(conn, fingerprint)
        store.unacknowledge(conn, fingerprint, actor())
    return {"fingerprint": fingerprint, "acknowledged": None}


@bp.get("/alerts/history")
@allow("read", *PAGE, *HISTORY_QUERY)
def alert_history() -> Any:
    """State transitions of alert instances, newest first."""
    return filtered_page(reads.HISTORY)


def _target(conn: Any, body: dict[str, Any]) -> tuple[AnyRule, list[Override]]:
    """The rule a preview/backtest body names: a draft under "rule" or a stored "rule_id"."""
    if "rule_id" in body:
        rule_id = body["rule_id"]
        if isinstance(rule_id, bool) or not isinstance(rule_id, int):
            raise field_problem("rule_id", "must be a whole number", title="Invalid body")
        stored, _ = visible_rule(conn, body["rule_id"])
        overrides = load_overrides(conn, [stored.rule_id]).get(stored.rule_id, [])
        return stored_rule(stored), overrides
    if not isinstance(body.get("rule"), dict):
        raise field_problem("rule", "send a draft rule object or a rule_id", title="Invalid body")
    return parse_draft(conn, body["rule"]), []


@bp.post("/alerts/preview")
@allow("read")
@body(PREVIEW_BODY)
def preview() -> Any:
    """What a draft (or stored) rule would produce now, from real data, sending nothing."""
    body = json_object()
    now = datetime.now(UTC)
    with app_engine().connect() as conn:
        rule, overrides = _target(conn, body)
        target = Target(0, resolve(rule, overrides))
        observed = observe(conn, rule.kind, [target], load_world(conn), now)[0]
        outcome = evaluate(0, rule, observed.observations, {}, now, observed=observed.count)
        candidates = [
            Candidate(i.fingerprint, i.labels, i.severity, i.node_id, i.since)
            for i in outcome.instances
        ]
        found = statuses(conn, candidates, now)
    instances = [
        {
            "fingerprint": i.fingerprint,
            "state": i.state.value,
            # the dispatcher's stages: a silence, inhibition or mute interval withholds it
            "would_notify": i.state is State.FIRING and not status.suppressed,
            "withheld": "; ".join(status.reasons) or None,
            "status": status.as_json(),
            "node_id": i.node_id,
            "value": i.last_value,
            "labels": dict(i.labels),
            "annotations": dict(i.annotations),
            "summary": i.annotations.get("summary", ""),
        }
        for i, status in zip(outcome.instances, found, strict=True)
    ]
    return {
        "rule": rule.as_spec(),
        "evaluated_at": now.isoformat(),
        "evaluated": observed.count,
        "health": outcome.health,
        "breaching": len(instances),
        "instances": instances[:500],
        "truncated": len(instances) > 500,
    }


class BacktestBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    days: float = Field(7, gt=0, le=90)
    step: Duration | None = None
    group_by: list[str] = Field(default_factory=lambda: ["alertname"], max_length=20)
    group_wait: Duration = timedelta(seconds=30)
    group_interval: Duration = timedelta(minutes=5)
    repeat_interval: Duration = timedelta(hours=4)


BACKTEST_BODY = BacktestBody.model_json_schema(by_alias=True)
BACKTEST_BODY["properties"].update(TARGET)


@bp.post("/rules/backtest")
@allow("read")
@body(BACKTEST_BODY)
def backtest() -> Any:
    """Replay the last days of stored data through a rule: fires, resolves, notifications."""
    body = json_object()
    options = validated(
        BacktestBody,
        {k: v for k, v in body.items() if k not in ("rule", "rule_id")},
        title="Invalid body",
    )
    if options.step is not None and options.step < timedelta(minutes=1):
        raise field_problem("step", "must be at least 1m", title="Invalid body")
    timing = Timing(options.group_wait, options.group_interval, options.repeat_interval)
    with app_engine().connect() as conn:
        rule, overrides = _target(conn, body)
        try:
            return run_backtest(
                conn, rule, overrides, options.days, timing, options.group_by, step=options.step
            )
        except BacktestError as exc:
            field, _, reason = str(exc).partition(": ")
            raise field_problem(f"rule.{field}", reason, title="Cannot backtest") from None
