"""Set-based reads of current data for every rule of a kind at once -> Observations; reads only.

One statement per rule kind (and per no-data check), whatever the number of rules and sites:
the latest value of every series of the indicators the rules watch comes back in one narrow
result (13,000 rows at most), and Python assigns each series to the rules whose scope holds
it, with the effective value at its node (inheritance.py). 10,000 rule x series pairs cost one
query and a dictionary walk, not 10,000 queries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from alerter.evaluation.alert_state import Instance
from alerter.evaluation.evaluate import breaching
from alerter.evaluation.labels import Node, Target, World, node_labels, series_context
from alerter.evaluation.learned_rate import learned_rule, read_rates
from alerter.evaluation.observations import Observation
from alerter.evaluation.reads.lots import read_deadlines
from alerter.rules.kinds import AnyRule, ForecastRule, NoDataRule, ThresholdRule


def series_observation(
    world: World, target: Target, node_id: str, value: float | None, code: str | None
) -> Observation | None:
    node = world.nodes.get(node_id)
    if node is None:
        return None
    labels, context = _series_identity(world, node, code)
    return Observation(labels, node_id, value, target.resolution.rule_at(node.path), context)


def _series_identity(
    world: World, node: Node, code: str | None
) -> tuple[dict[str, str], dict[str, Any]]:
    indicator = world.indicators.get(code) if code else None
    labels = node_labels(node)
    if indicator is not None:
        labels.update(indicator=indicator.code, theme=indicator.theme)
    return labels, series_context(labels, indicator)


@dataclass
class Observed:
    """What one rule saw: how many series (or lots) reported, and those worth evaluating."""

    count: int = 0
    observations: list[Observation] = field(default_factory=list)


Previous = Mapping[int, Mapping[str, Instance]]


class Scope:
    """Which targets watch a series (same indicator, or any for a rule without one; the rule's
    level; the rule's node on the series' path), and what each target observed.

    Only observations that can change something are built: a breach, a missing value, or a
    series at a node where the rule already has an instance. The other 95 % of a healthy
    country are counted and dropped, saving 10,000 objects a cycle."""

    def __init__(
        self, targets: Sequence[Target], world: World, previous: Previous | None = None
    ) -> None:
        self.world = world
        self.by_key: dict[tuple[str | None, str], list[tuple[str, Target]]] = defaultdict(list)
        for target in targets:
            rule = target.rule
            self.by_key[(rule.indicator_code, rule.level)].append((rule.node_id, target))
        self.codes = sorted({code for code, _ in self.by_key if code is not None})
        self.any_code = any(code is None for code, _ in self.by_key)
        self.held = {
            rule_id: {i.node_id for i in instances.values()}
            for rule_id, instances in (previous or {}).items()
        }
        self.out = {t.rule_id: Observed() for t in targets}
        self._identity: dict[tuple[str, str | None], tuple[dict[str, str], dict[str, Any]]] = {}

    def watchers(self, node_id: str, code: str) -> list[tuple[Target, Node]]:
        node = self.world.nodes.get(node_id)
        if node is None:
            return []
        found = [
            (t, node) for root, t in self.by_key.get((code, node.level), ()) if root in node.path
        ]
        if self.any_code:
            found += [
                (t, node)
                for root, t in self.by_key.get((None, node.level), ())
                if root in node.path
            ]
        return found

    def offer(
        self,
        target: Target,
        node: Node,
        value: float | None,
        context: Mapping[str, Any] | None = None,
        rule: AnyRule | None = None,
    ) -> None:
        """`rule` replaces the effective rule at the node (a learned no-data limit)."""
        observed = self.out[target.rule_id]
        observed.count += 1
        rule = rule or target.resolution.rule_at(node.path)
        quiet = value is not None and not breaching(rule, value, False)
        if quiet and node.node_id not in self.held.get(target.rule_id, ()):
            return
        code = target.rule.indicator_code
        identity = self._identity.get((node.node_id, code))
        if identity is None:
            identity = self._identity[(node.node_id, code)] = _series_identity(
                self.world, node, code
            )
        labels, base = identity
        full = {**base, **context} if context else base
        observed.observations.append(Observation(labels, node.node_id, value, rule, full))


# Scoping happens in Python (Scope): the org tree is already in memory, and a join from an
# unnest of rules to org_node misleads the planner into 10,000 nested index probes (0.4 s).
LATEST_SQL = """
SELECT s.node_id, s.indicator_code, l.value, l.time
FROM series s JOIN series_latest l ON l.series_id = s.series_id
WHERE s.indicator_code = ANY (CAST(:codes AS text[])) AND l.time > CAST(:oldest AS timestamptz)
"""

STALE_SQL = """
SELECT s.node_id, s.indicator_code, l.time
FROM series s LEFT JOIN series_latest l ON l.series_id = s.series_id
WHERE CAST(:every AS boolean) OR s.indicator_code = ANY (CAST(:codes AS text[]))
"""

FORECAST_SQL = """
WITH recent AS (
    SELECT f.* FROM forecast_crossing f
    WHERE f.computed_at > CAST(:oldest AS timestamptz) AND f.computed_at <= CAST(:now AS timestamptz)
), newest AS (
    SELECT DISTINCT ON (series_id) series_id, run_id, computed_at
    FROM recent ORDER BY series_id, computed_at DESC
)
SELECT s.node_id, s.indicator_code, n.computed_at, r.threshold, r.direction, r.crossing_at,
       r.probability
FROM newest n
JOIN recent r ON r.series_id = n.series_id AND r.run_id = n.run_id
JOIN series s ON s.series_id = n.series_id
WHERE s.indicator_code = ANY (CAST(:codes AS text[]))
"""


def observe(
    conn: Connection,
    kind: str,
    targets: Sequence[Target],
    world: World,
    now: datetime,
    previous: Previous | None = None,
) -> dict[int, Observed]:
    """What every target (all of one kind) observes now, keyed by rule id."""
    if not targets:
        return {}
    if kind == "deadline":
        out = {t.rule_id: Observed() for t in targets}
        for rule_id, obs in read_deadlines(conn, targets, world, now):
            out[rule_id].count += 1
            out[rule_id].observations.append(obs)
        return out
    scope = Scope(targets, world, previous)
    {"threshold": _threshold, "forecast": _forecast, "no_data": _no_data}[kind](conn, scope, now)
    return scope.out


def _threshold(conn: Connection, scope: Scope, now: datetime) -> None:
    ages = {
        t.rule_id: t.rule.max_data_age for _, t in _all(scope) if isinstance(t.rule, ThresholdRule)
    }
    params = {"codes": scope.codes, "oldest": now - max(ages.values())}
    for node_id, code, value, time in conn.execute(text(LATEST_SQL), params).all():
        for target, node in scope.watchers(node_id, code):
            if now - time < ages[target.rule_id]:
                scope.offer(target, node, value)


def _all(scope: Scope) -> list[tuple[str, Target]]:
    return [pair for pairs in scope.by_key.values() for pair in pairs]


def _no_data(conn: Connection, scope: Scope, now: datetime) -> None:
    targets = [t for _, t in _all(scope)]
    if any(isinstance(t.rule, NoDataRule) and t.rule.check == "feed_silence" for t in targets):
        _silence(conn, scope, now)
    if any(isinstance(t.rule, NoDataRule) and t.rule.check == "stale_series" for t in targets):
        _stale(conn, scope, now)


def _is(target: Target, check: str) -> bool:
    return isinstance(target.rule, NoDataRule) and target.rule.check == check


def _silence(conn: Connection, scope: Scope, now: datetime) -> None:
    # Any age: a stale silence value only means the silence is longer than it says.
    params = {"codes": ["feed_silence_minutes"], "oldest": datetime.min.replace(tzinfo=now.tzinfo)}
    learned = any(
        isinstance(t.rule, NoDataRule) and t.rule.expected == "learned" for _, t in _all(scope)
    )
    rates = read_rates(conn, now) if learned else {}
    for node_id, code, value, time in conn.execute(text(LATEST_SQL), params).all():
        minutes = value + max(0.0, (now - time).total_seconds() / 60)
        for target, node in scope.watchers(node_id, code):
            if _is(target, "feed_silence"):
                rule = learned_rule(target.resolution.rule_at(node.path), rates.get(node_id), now)
                scope.offer(target, node, minutes, rule=rule)


def _stale(conn: Connection, scope: Scope, now: datetime) -> None:
    params = {"every": scope.any_code, "codes": scope.codes}
    newest: dict[tuple[int, str], datetime | None] = {}
    found: dict[tuple[int, str], tuple[Target, Node]] = {}
    for node_id, code, time in conn.execute(text(STALE_SQL), params).all():
        for target, node in scope.watchers(node_id, code):
            if not _is(target, "stale_series"):
                continue
            key = (target.rule_id, node_id)
            seen = newest.get(key)
            newest[key] = time if seen is None or (time is not None and time > seen) else seen
            found[key] = (target, node)
    for key, time in newest.items():
        age = None if time is None else (now - time).total_seconds() / 60
        scope.offer(*found[key], age, {"last_seen": time.isoformat() if time else None})


Crossing = tuple[float, str, datetime | None, float]


def _forecast(conn: Connection, scope: Scope, now: datetime) -> None:
    ages = {
        t.rule_id: t.rule.max_forecast_age
        for _, t in _all(scope)
        if isinstance(t.rule, ForecastRule)
    }
    params = {"codes": scope.codes, "oldest": now - max(ages.values()), "now": now}
    runs: dict[tuple[str, str], tuple[datetime, list[Crossing]]] = {}
    for node_id, code, computed_at, *crossing in conn.execute(text(FORECAST_SQL), params).all():
        threshold, direction, at, probability = crossing
        runs.setdefault((node_id, code), (computed_at, []))[1].append(
            (threshold, direction, at, probability)
        )
    for (node_id, code), (computed_at, crossings) in runs.items():
        for target, node in scope.watchers(node_id, code):
            effective = target.resolution.rule_at(node.path)
            if now - computed_at >= ages[target.rule_id] or not isinstance(effective, ForecastRule):
                continue
            best = best_crossing(effective, crossings, now)
            if best is not None:
                scope.offer(target, node, best[0], crossing_context(best, now))


def best_crossing(
    rule: ForecastRule,
    crossings: Sequence[Crossing],
    now: datetime,
) -> tuple[float, datetime | None] | None:
    """(probability, crossing time) at the rule's effective threshold; None when the run
    holds no row for that threshold (the forecaster does not know it yet)."""
    matching = [
        (probability, at)
        for threshold, direction, at, probability in crossings
        if abs(threshold - rule.threshold) <= 1e-9 * max(1.0, abs(threshold))
        and direction == rule.direction
    ]
    if not matching:
        return None
    horizon = rule.horizon_hours * 3600
    inside = [
        (p, at) for p, at in matching if at is not None and (at - now).total_seconds() <= horizon
    ]
    return max(inside, key=lambda pair: pair[0]) if inside else (0.0, None)


def crossing_context(best: tuple[float, datetime | None], now: datetime) -> dict[str, Any]:
    probability, at = best
    return {
        "probability": probability,
        "crossing_at": at.isoformat() if at else None,
        "forecast_at": at.isoformat() if at else None,
        "hours_to_crossing": None if at is None else (at - now).total_seconds() / 3600,
    }


def best_observation(
    obs: Observation, best: tuple[float, datetime | None], now: datetime
) -> Observation:
    context = {**obs.context, **crossing_context(best, now)}
    return Observation(obs.labels, obs.node_id, best[0], obs.rule, context)
