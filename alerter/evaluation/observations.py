"""Observations (a series or lot as a rule sees it) and what an instance says about itself: its
labels, and annotations rendered from the rule's templates. Pure; writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from alerter.evaluation.alert_state import Instance, State
from alerter.rules.durations import format_duration
from alerter.rules.kinds import AnyRule
from alerter.rules.templating import render_all

KIND_FIELDS = (
    "operator",
    "recovery_threshold",
    "horizon_hours",
    "hours_before",
    "minutes",
    "check",
)


@dataclass(slots=True)  # not frozen: frozen __init__ costs 2 µs a field, 10,000 times a cycle
class Observation:
    """One series (or lot) as the rule sees it now.

    ``labels`` identify it (node, site, indicator, lot ...); ``rule`` is the rule with the
    effective tunable value at its node (the base rule when None); ``context`` adds template
    variables; ``breach`` ORs an extra condition in (a deadline rule's breach prediction).
    """

    labels: Mapping[str, str]
    node_id: str
    value: float | None
    rule: AnyRule | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    breach: bool = False
    fingerprint: str = ""  # precomputed by callers that replay the same series many times


def template_context(
    rule: AnyRule, obs: Observation, labels: Mapping[str, str], now: datetime
) -> dict[str, Any]:
    effective = obs.rule or rule
    context: dict[str, Any] = {
        **obs.context,
        "value": obs.value,
        "labels": dict(labels),
        "rule": rule.name,
        "severity": rule.severity,
        "threshold": display(effective.tunable_value),
        "for": format_duration(rule.for_),
        "now": now.isoformat(),
    }
    fields = type(effective).model_fields
    for name in KIND_FIELDS:
        if name in fields:  # hasattr on a pydantic model costs an exception per miss
            context[name] = getattr(effective, name)
    if context.get("recovery_threshold") is not None:
        context["recovery_threshold"] = display(context["recovery_threshold"])
    return context


def display(number: float) -> float | int:
    """48.0 reads as 48 in a message."""
    return int(number) if float(number).is_integer() else number


def instance_labels(rule: AnyRule, obs_labels: Mapping[str, str]) -> dict[str, str]:
    labels = {"alertname": rule.name, "severity": rule.severity, "kind": rule.kind}
    labels.update(rule.labels)
    labels.update(obs_labels)
    return labels


def annotations_for(
    rule: AnyRule, obs: Observation, labels: Mapping[str, str], now: datetime
) -> dict[str, str]:
    context = template_context(rule, obs, labels, now)
    templates = {"summary": rule.summary_template(), **rule.annotations}
    out = render_all(templates, context)
    out["threshold"] = str(context["threshold"])
    if rule.description:
        out.setdefault("description", rule.description)
    for key in ("forecast_at", "probability", "deadline_at"):
        if context.get(key) is not None:
            out[key] = str(context[key])
    return out


def same_as_before(prev: Instance | None, state: State, obs: Observation) -> bool:
    """Nothing an annotation shows has changed, so the last rendering still holds."""
    if prev is None or prev.state is not state or prev.last_value != obs.value:
        return False
    threshold = obs.rule.tunable_value if obs.rule else None
    return threshold is None or prev.annotations.get("threshold") == str(display(threshold))
