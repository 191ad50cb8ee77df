"""The evaluation step: every enabled rule against current data, saved by evaluation.store.

``evaluate_all(engine, settings, now=None)`` is the scheduler's step (every 30 s, and after a
metrics cycle). Under an advisory lock, so one replica evaluates at a time, it:

1. loads rules, overrides, stored instances and the org tree (four queries);
2. reads current data with one set-based query per rule kind (read_series, read_lots);
3. runs the pure evaluate.py per rule; a rule that raises is recorded in Error, never stopping
   the others (a failing batch query is retried rule by rule inside savepoints to find it);
4. saves instances, history, rule health and outbox rows (evaluation.store) in the same transaction,
   so a notification exists exactly when its state change does.

A lost connection is not a rule's error: no savepoint survives it, so the cycle starts again
once on a fresh connection, and if that fails too the loss goes up as it is (nothing saved),
never as an error on every rule: the scheduler's outage guard (quaywatch.db.Outage) logs one
line for the whole outage, however many steps meet it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from time import perf_counter

from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError

from alerter.evaluation import store
from alerter.evaluation.alert_state import Instance
from alerter.evaluation.evaluate import Outcome, evaluate, evaluate_error, resolve_gone
from alerter.evaluation.labels import Target, World, load_world
from alerter.evaluation.reads.alerts import load_instances, rule_health
from alerter.evaluation.reads.series import Observed, observe
from alerter.rules import reads
from alerter.rules.inheritance import Override, resolve
from alerter.rules.kinds import KINDS, AnyRule, RuleError, parse_rule
from alerter.rules.reads import StoredRule
from quaywatch.db import transaction, try_advisory_lock
from quaywatch.settings import Settings

log = logging.getLogger(__name__)
LOCK = "alerter.evaluation.evaluate"


@dataclass(frozen=True)
class EvaluationResult:
    skipped: bool = False  # another replica held the lock
    rules: int = 0
    series: int = 0  # rule x series (or lot) pairs observed
    instances: int = 0  # non-Normal instances after the cycle
    transitions: int = 0
    notifications: int = 0  # outbox rows written
    errors: dict[int, str] = field(default_factory=dict)
    duration_ms: float = 0.0


def evaluate_all(
    engine: Engine, settings: Settings, now: datetime | None = None
) -> EvaluationResult:
    """Evaluate every enabled rule once; see the module docstring for the steps."""
    now = now or datetime.now(UTC)
    started = perf_counter()
    for tries_left in (1, 0):
        try:
            saved = _evaluate_and_save(engine, now)
            break
        except DBAPIError as exc:
            if not tries_left or not connection_lost(exc):
                raise
            # DEBUG: while the database is down this repeats every cycle; the outage guard
            # already says so once.
            log.debug("evaluation lost its connection (%s); once more on a fresh one", exc)
    if saved is None:
        return EvaluationResult(skipped=True)
    result = _summary(*saved, (perf_counter() - started) * 1000)
    log.debug("evaluation: %s", result)
    return result


def _evaluate_and_save(engine: Engine, now: datetime) -> tuple[list[Outcome], int] | None:
    """One cycle in one transaction: (outcomes, outbox rows); None if another replica runs."""
    with transaction(engine) as conn:
        if not try_advisory_lock(conn, LOCK):
            return None
        outcomes, durations = run_cycle(conn, now)
        health = rule_health(conn)
        return outcomes, store.save_outcomes(conn, outcomes, health, durations, now)


def connection_lost(exc: DBAPIError) -> bool:
    """The server went away (restart, failover, pg_terminate_backend) or refused to connect
    (no statement ran), as opposed to one query failing on a healthy connection."""
    return exc.connection_invalidated or (isinstance(exc, OperationalError) and not exc.statement)


def run_cycle(conn: Connection, now: datetime) -> tuple[list[Outcome], dict[int, float]]:
    """Outcomes of every rule (nothing saved); shared by evaluate_all and the benchmark."""
    stored = reads.all_rules(conn)
    previous = load_instances(conn)
    world = load_world(conn)
    overrides = reads.load_overrides(conn)
    targets, outcomes = prepare(stored, overrides, previous, now)
    durations: dict[int, float] = {}
    for kind in KINDS:
        batch = [t for t in targets if t.rule.kind == kind]
        outcomes += _evaluate_kind(conn, kind, batch, world, previous, now, durations)
    live = {t.rule_id for t in targets} | {o.rule_id for o in outcomes}
    for rule_id, instances in previous.items():
        if rule_id not in live:
            reason = (
                "rule disabled" if any(s.rule_id == rule_id for s in stored) else "rule deleted"
            )
            outcomes.append(resolve_gone(rule_id, instances, now, reason))
    return outcomes, durations


def prepare(
    stored: Sequence[StoredRule],
    overrides: Mapping[int, list[Override]],
    previous: Mapping[int, Mapping[str, Instance]],
    now: datetime,
) -> tuple[list[Target], list[Outcome]]:
    """Targets for enabled rules; an Error outcome for each rule whose spec no longer loads."""
    targets, outcomes = [], []
    for row in stored:
        if not row.enabled:
            continue
        try:
            rule = parse_rule(row.spec)
        except RuleError as exc:
            outcome = evaluate_error(
                row.rule_id, None, previous.get(row.rule_id, {}), now, str(exc)
            )
            outcome.node_id, outcome.rule_name = row.node_id, row.name
            outcomes.append(outcome)
            continue
        targets.append(Target(row.rule_id, resolve(rule, overrides.get(row.rule_id, []))))
    return targets, outcomes


def _evaluate_kind(
    conn: Connection,
    kind: str,
    batch: list[Target],
    world: World,
    previous: Mapping[int, Mapping[str, Instance]],
    now: datetime,
    durations: dict[int, float],
) -> list[Outcome]:
    if not batch:
        return []
    started = perf_counter()
    observed, failed = _observe_batch(conn, kind, batch, world, now, previous)
    share = (perf_counter() - started) * 1000 / len(batch)
    outcomes = []
    for target in batch:
        begun = perf_counter()
        before = previous.get(target.rule_id, {})
        if target.rule_id in failed:
            outcome = _error(target, before, now, failed[target.rule_id])
        else:
            outcome = _evaluate_one(target, observed[target.rule_id], before, now)
        outcomes.append(outcome)
        durations[target.rule_id] = share + (perf_counter() - begun) * 1000
    return outcomes


def _observe_batch(
    conn: Connection,
    kind: str,
    batch: list[Target],
    world: World,
    now: datetime,
    previous: Mapping[int, Mapping[str, Instance]],
) -> tuple[dict[int, Observed], dict[int, str]]:
    """All rules of a kind in one query; if it fails, each rule alone to find the culprit."""
    try:
        with conn.begin_nested():
            return observe(conn, kind, batch, world, now, previous), {}
    except Exception as exc:
        _raise_if_lost(conn, exc)
        log.warning("batch query for %s rules failed; retrying rule by rule", kind, exc_info=True)
    observed: dict[int, Observed] = {}
    failed: dict[int, str] = {}
    for target in batch:
        try:
            with conn.begin_nested():
                observed.update(observe(conn, kind, [target], world, now, previous))
        except Exception as exc:
            _raise_if_lost(conn, exc)
            failed[target.rule_id] = _describe(exc)
    return observed, failed


def _raise_if_lost(conn: Connection, exc: Exception) -> None:
    """Rule by rule needs a live transaction: on a lost connection every savepoint would
    fail with PendingRollbackError, so the loss goes up to evaluate_all instead."""
    if conn.invalidated or (isinstance(exc, DBAPIError) and connection_lost(exc)):
        raise exc


def _evaluate_one(
    target: Target, observed: Observed, before: Mapping[str, Instance], now: datetime
) -> Outcome:
    try:
        rule = target.rule
        observations = observed.observations
        return evaluate(target.rule_id, rule, observations, before, now, observed=observed.count)
    except Exception as exc:  # one broken rule must never stop the others
        log.exception("rule %s (%s) failed", target.rule_id, target.rule.name)
        return _error(target, before, now, _describe(exc))


def _error(target: Target, before: Mapping[str, Instance], now: datetime, message: str) -> Outcome:
    rule: AnyRule = target.rule
    return evaluate_error(target.rule_id, rule, before, now, message)


def _describe(exc: Exception) -> str:
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first_line}"[:500]


def _summary(outcomes: list[Outcome], notifications: int, elapsed_ms: float) -> EvaluationResult:
    errors = {o.rule_id: o.error for o in outcomes if o.error}
    per_rule: dict[int, int] = defaultdict(int)
    for outcome in outcomes:
        per_rule[outcome.rule_id] += outcome.evaluated
    return EvaluationResult(
        rules=len({o.rule_id for o in outcomes if o.health != "gone"}),
        series=sum(per_rule.values()),
        instances=sum(len(o.instances) for o in outcomes),
        transitions=sum(len(o.transitions) for o in outcomes),
        notifications=notifications,
        errors={k: v for k, v in errors.items() if v is not None},
        duration_ms=elapsed_ms,
    )
