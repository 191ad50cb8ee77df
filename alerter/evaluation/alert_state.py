"""Alert instances, their states (as in Grafana), fingerprints, what a transition notifies; pure.

States: Normal, Pending (condition true, waiting out ``for``), Firing, Recovering (condition
false, waiting out ``keep_firing_for``), NoData, Error.

Notification rule, per instance: the outbox hears ``firing`` when the instance becomes Firing
(or Recovering) and the last thing it heard was not ``firing``; it hears ``resolved`` when the
instance goes back to Normal (or disappears) after ``firing`` was sent. NoData and Error hold
whatever was last sent: a feed that goes quiet does not resolve an overdue hazardous lot, and
the no-data rule (with inhibition) speaks for the silence instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal

Notify = Literal["firing", "resolved"]


class State(StrEnum):
    NORMAL = "Normal"
    PENDING = "Pending"
    FIRING = "Firing"
    RECOVERING = "Recovering"
    NODATA = "NoData"
    ERROR = "Error"


ACTIVE = frozenset({State.FIRING, State.RECOVERING})


def fingerprint(rule_id: int, labels: Mapping[str, str]) -> str:
    """sha256 over the rule id and the labels sorted by name (32 hex characters).

    Names and values are joined with control characters that label text cannot hold
    unnoticed (\x1f between name and value, \x1e between pairs), like Prometheus' 0xff
    separator; this is three times cheaper than JSON and runs once per series per cycle."""
    pairs = "\x1e".join(f"{name}\x1f{value}" for name, value in sorted(labels.items()))
    return hashlib.sha256(f"{rule_id}\x1d{pairs}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Instance:
    """One alert instance (rule x label set) as persisted between evaluations."""

    fingerprint: str
    rule_id: int
    node_id: str
    severity: str
    labels: Mapping[str, str]
    state: State
    since: datetime
    last_eval: datetime
    fired_at: datetime | None = None
    last_value: float | None = None
    notified: Notify | None = None
    missing_evals: int = 0
    error: str | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Transition:
    """A state change of one instance, and the outbox status it produces (if any)."""

    instance: Instance  # the instance after the change
    from_state: State | None
    reason: str
    notify: Notify | None = None

    @property
    def to_state(self) -> State:
        return self.instance.state


def notification(state: State, notified: Notify | None) -> Notify | None:
    """What the outbox must hear now that the instance is in `state`."""
    if state in ACTIVE and notified != "firing":
        return "firing"
    if state is State.NORMAL and notified == "firing":
        return "resolved"
    return None
