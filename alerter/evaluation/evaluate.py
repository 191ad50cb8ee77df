"""Pure evaluation: (rule, observations, previous states, now) -> new states + transitions.

No database and no clock: step.py feeds it rows, backtest.py feeds it history, and the
tests feed it numbers. Semantics follow Grafana's alerting, with our choices marked:

- ``for``: a true condition moves Normal -> Pending; Pending -> Firing once ``now - since >= for``;
  one false evaluation while Pending goes back to Normal.
- Hysteresis: once Firing, a threshold rule with a recovery threshold keeps firing while the
  value is past the *recovery* line; before that, only the threshold counts.
- ``keep_firing_for``: Firing -> Recovering when the condition clears, back to Firing if it
  returns, Normal once cleared for ``keep_firing_for``.
- No data: an observation without a value, or a rule whose query returned no series at all,
  maps through ``no_data_state`` (NoData | Normal | Alerting | KeepLast); errors map through
  ``error_state``. A series that disappears while others report is resolved after
  ``MISSING_EVALS`` evaluations (Grafana's MissingSeries).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from alerter.evaluation.alert_state import (
    ACTIVE,
    Instance,
    State,
    Transition,
    fingerprint,
    notification,
)
from alerter.evaluation.observations import (
    Observation,
    annotations_for,
    instance_labels,
    same_as_before,
)
from alerter.rules.durations import format_duration
from alerter.rules.kinds import AnyRule, DeadlineRule, ForecastRule, ThresholdRule

MISSING_EVALS = 2


@dataclass
class Outcome:
    rule_id: int
    instances: list[Instance] = field(default_factory=list)  # to keep (never Normal)
    removed: list[str] = field(default_factory=list)  # fingerprints back to Normal
    transitions: list[Transition] = field(default_factory=list)
    health: str = "ok"  # ok | nodata | error | gone (rule deleted or disabled)
    error: str | None = None
    evaluated: int = 0
    node_id: str = ""
    rule_name: str = ""
    unchanged: set[str] = field(default_factory=set)  # kept instances with nothing new to save


def _compare(value: float, operator: str, threshold: float) -> bool:
    if operator == ">":
        return value > threshold
    if operator == ">=":
        return value >= threshold
    if operator == "<":
        return value < threshold
    return value <= threshold


def breaching(rule: AnyRule, value: float, active: bool, extra: bool = False) -> bool:
    """Is the condition true for this value? `active` selects the recovery threshold."""
    if isinstance(rule, ThresholdRule):
        line = rule.threshold
        if active and rule.recovery_threshold is not None:
            line = rule.recovery_threshold
        return _compare(value, rule.operator, line)
    if isinstance(rule, ForecastRule):
        return value >= rule.min_probability  # value is the crossing probability
    if isinstance(rule, DeadlineRule):
        return value <= rule.hours_before or extra  # value is hours left to the deadline
    return value > rule.minutes  # no_data: minutes of silence


HOLDING = frozenset({State.NODATA, State.ERROR})


def was_active(prev: Instance | None) -> bool:
    """Firing or Recovering, or holding a firing notification through NoData/Error."""
    if prev is None:
        return False
    return prev.state in ACTIVE or (prev.state in HOLDING and prev.notified == "firing")


def _advance(
    state: State, since: datetime, breach: bool, rule: AnyRule, now: datetime, active: bool
) -> State:
    if breach:
        if active:
            return State.FIRING
        if state is State.PENDING:
            return State.FIRING if now - since >= rule.for_ else State.PENDING
        return State.FIRING if not rule.for_ else State.PENDING
    if state is State.FIRING:
        return State.RECOVERING if rule.keep_firing_for else State.NORMAL
    if state is State.RECOVERING:
        return State.NORMAL if now - since >= rule.keep_firing_for else State.RECOVERING
    return State.NORMAL


def _mapped(
    prev: Instance | None, mapping: str, special: State, rule: AnyRule, now: datetime
) -> State:
    """The state a NoData/Error mapping (NoData|Error, Normal, Alerting, KeepLast) leads to."""
    if mapping in ("NoData", "Error"):
        return special
    state = prev.state if prev else State.NORMAL
    if mapping == "KeepLast":
        return state
    since = prev.since if prev else now
    return _advance(state, since, mapping == "Alerting", rule, now, was_active(prev))


def _reason(old: State, new: State, rule: AnyRule, value: float | None) -> str:
    shown = "no value" if value is None else f"value {value:g}"
    if new is State.FIRING and old is State.PENDING:
        return f"{shown}: condition held for {format_duration(rule.for_)}"
    if new is State.NORMAL and old is State.RECOVERING:
        return f"{shown}: cleared for {format_duration(rule.keep_firing_for)}"
    if new in (State.FIRING, State.PENDING):
        return f"{shown}: {rule.condition()}"
    if new is State.RECOVERING:
        return f"{shown}: cleared; keeps firing for {format_duration(rule.keep_firing_for)}"
    if new is State.NODATA:
        return "no data"
    return f"{shown}: condition false ({rule.condition()})"


def _next(
    prev: Instance | None,
    new_state: State,
    template: Instance,
    rule: AnyRule | None,
    value: float | None,
    now: datetime,
    reason: str | None = None,
) -> tuple[Instance, Transition | None]:
    old_state = prev.state if prev else State.NORMAL
    notified = prev.notified if prev else None
    notify = notification(new_state, notified)
    fired_at = prev.fired_at if prev else None
    if new_state in ACTIVE and notified != "firing":
        fired_at = now  # Alertmanager's startsAt: when this episode began firing
    instance = replace(
        template,
        state=new_state,
        since=now if new_state is not old_state or prev is None else prev.since,
        fired_at=fired_at,
        last_eval=now,
        last_value=value,
        notified=notify or notified,
        missing_evals=0,
    )
    if new_state is old_state:
        return instance, None
    if reason is None:
        assert rule is not None
        reason = _reason(old_state, new_state, rule, value)
    return instance, Transition(instance, prev.state if prev else None, reason, notify)


def _observe_one(
    rule_id: int,
    rule: AnyRule,
    obs: Observation,
    prev: Instance | None,
    now: datetime,
    annotate: bool = True,
) -> tuple[Instance, Transition | None]:
    labels = instance_labels(rule, obs.labels)
    fp = prev.fingerprint if prev else obs.fingerprint or fingerprint(rule_id, labels)
    if obs.value is None:
        new_state = _mapped(prev, rule.no_data_state, State.NODATA, rule, now)
    else:
        active = was_active(prev)
        breach = breaching(obs.rule or rule, obs.value, active, obs.breach)
        state, since = (prev.state, prev.since) if prev else (State.NORMAL, now)
        new_state = _advance(state, since, breach, rule, now, active)
    template = Instance(fp, rule_id, obs.node_id, rule.severity, labels, new_state, now, now)
    fresh = new_state is not State.NORMAL and annotate and not same_as_before(prev, new_state, obs)
    if fresh and (obs.value is not None or prev is None):
        template = replace(template, annotations=annotations_for(rule, obs, labels, now))
    elif prev is not None:  # no value now: keep what the last value said
        template = replace(template, annotations=prev.annotations)
    return _next(prev, new_state, template, rule, obs.value, now)


def _collect(
    outcome: Outcome,
    instance: Instance,
    transition: Transition | None,
    prev: Instance | None = None,
) -> None:
    if transition is not None:
        outcome.transitions.append(transition)
    if instance.state is State.NORMAL:
        outcome.removed.append(instance.fingerprint)
        return
    outcome.instances.append(instance)
    if prev is not None and instance == replace(prev, last_eval=instance.last_eval):
        outcome.unchanged.add(instance.fingerprint)


def evaluate(
    rule_id: int,
    rule: AnyRule,
    observations: Sequence[Observation],
    previous: Mapping[str, Instance],
    now: datetime,
    annotate: bool = True,
    observed: int | None = None,
) -> Outcome:
    """New states for every observation and every previously known instance of the rule.

    ``observed`` is how many series reported when the caller dropped the quiet ones (Normal,
    staying Normal, no instance) before building observations; it defaults to
    len(observations). annotate=False skips rendering (the backtest needs states only)."""
    count = len(observations) if observed is None else observed
    outcome = Outcome(rule_id, evaluated=count, node_id=rule.node_id, rule_name=rule.name)
    if count == 0 and not isinstance(rule, DeadlineRule):
        # The query returned nothing at all: NoData for the whole rule (deadline rules are
        # legitimately empty when no lot is near its deadline).
        outcome.health = "nodata"
        for prev in previous.values():
            empty = Observation(prev.labels, prev.node_id, None)
            _collect(outcome, *_observe_one(rule_id, rule, empty, prev, now, annotate), prev)
        return outcome
    seen: set[str] = set()
    nodes = {instance.node_id for instance in previous.values()}
    for obs in observations:
        if obs.node_id not in nodes and obs.value is not None and not _could_start(rule, obs):
            continue  # Normal, staying Normal, nothing stored: most series, most cycles
        fp = obs.fingerprint or fingerprint(rule_id, instance_labels(rule, obs.labels))
        seen.add(fp)
        known = previous.get(fp)
        if known is None and obs.value is not None and not _could_start(rule, obs):
            continue
        _collect(outcome, *_observe_one(rule_id, rule, obs, known, now, annotate), known)
    for fp, prev in previous.items():
        if fp not in seen:
            _collect(outcome, *_missing(prev, now), prev)
    return outcome


def _could_start(rule: AnyRule, obs: Observation) -> bool:
    assert obs.value is not None
    return breaching(obs.rule or rule, obs.value, False, obs.breach)


def _missing(prev: Instance, now: datetime) -> tuple[Instance, Transition | None]:
    missing = prev.missing_evals + 1
    if missing < MISSING_EVALS:
        return replace(prev, missing_evals=missing, last_eval=now), None
    reason = f"series missing for {missing} evaluations"
    return _next(prev, State.NORMAL, prev, None, prev.last_value, now, reason)


def evaluate_error(
    rule_id: int,
    rule: AnyRule | None,
    previous: Mapping[str, Instance],
    now: datetime,
    message: str,
) -> Outcome:
    """The rule could not be evaluated (rule None: not even loaded): map through error_state."""
    outcome = Outcome(rule_id, health="error", error=message)
    if rule is not None:
        outcome.node_id, outcome.rule_name = rule.node_id, rule.name
    for prev in previous.values():
        if rule is None:
            new_state = State.ERROR
        else:
            new_state = _mapped(prev, rule.error_state, State.ERROR, rule, now)
        template = replace(prev, error=message if new_state is State.ERROR else None)
        reason = f"evaluation error: {message}"
        _collect(
            outcome, *_next(prev, new_state, template, rule, prev.last_value, now, reason), prev
        )
    return outcome


def resolve_gone(
    rule_id: int, previous: Mapping[str, Instance], now: datetime, reason: str
) -> Outcome:
    """The rule was deleted or disabled: every instance goes back to Normal (resolved if sent)."""
    outcome = Outcome(rule_id, health="gone")
    for prev in previous.values():
        _collect(outcome, *_next(prev, State.NORMAL, prev, None, prev.last_value, now, reason))
    return outcome
