"""Aggregation groups and their timing (group_by, group_wait, ...); pure, writes nothing.

Alertmanager's semantics (reference §0.5, dispatch/dispatch.go): a new group waits
``group_wait`` (30 s) to collect alerts, later changes are sent at most every
``group_interval`` (5 m), and an unchanged firing group is re-sent after ``repeat_interval``
(4 h). Two differences, both answers to "why did it (not) notify?" (alertmanager#2166, #2647):

* the repeat is due exactly ``repeat_interval`` after the last notification, not rounded up to
  a multiple of ``group_interval``;
* every group stores its next flush time and the reason, so the API can answer both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

ALL_LABELS = "..."  # group_by ["..."]: every label set is its own group (Alertmanager's '...')

FIRST = "first notification"
NEW_ALERTS = "new alerts added"
SOME_RESOLVED = "some alerts resolved"
ALL_RESOLVED = "all alerts resolved"
REPEAT = "repeat interval elapsed"


@dataclass(frozen=True)
class GroupTiming:
    """Seconds; Alertmanager's defaults."""

    group_wait: int = 30
    group_interval: int = 300
    repeat_interval: int = 14400


def group_labels(labels: Mapping[str, str], group_by: Iterable[str]) -> dict[str, str]:
    """The labels that name an alert's group; labels an alert lacks are left out."""
    keys = list(group_by)
    if ALL_LABELS in keys:
        return dict(sorted(labels.items()))
    return {k: labels[k] for k in sorted(set(keys)) if k in labels}


def group_key(channel_id: int, labels: Mapping[str, str]) -> str:
    """Alertmanager-style key ``channel/<id>:{alertname="X", site="Y"}``, stable per group."""
    inner = ", ".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
    return f"channel/{channel_id}:{{{inner}}}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


@dataclass(frozen=True)
class SentState:
    """What the receiver was last told about a group."""

    firing: frozenset[str] = frozenset()
    resolved: frozenset[str] = frozenset()
    last_notified_at: datetime | None = None


@dataclass(frozen=True)
class Decision:
    """``send`` False with a reason: update the sent state without a message (send_resolved
    off and the group resolved); None reason: nothing to do."""

    reason: str | None
    send: bool


NOTHING = Decision(None, False)


def decide(
    firing: frozenset[str],
    resolved: frozenset[str],
    sent: SentState,
    now: datetime,
    timing: GroupTiming,
    send_resolved: bool = True,
) -> Decision:
    """Alertmanager's DedupStage.needsUpdate (notify/dedup_stage.go), in the same order.

    ``firing`` are the firing alerts left after silences, inhibition and mute intervals;
    ``resolved`` are the resolved alerts the receiver was told were firing.
    """
    if sent.last_notified_at is None:
        return Decision(FIRST, True) if firing else NOTHING
    if not firing <= sent.firing:
        return Decision(NEW_ALERTS, True)
    if not firing and sent.firing:
        return Decision(ALL_RESOLVED, send_resolved)
    if send_resolved and resolved and not resolved <= sent.resolved:
        return Decision(SOME_RESOLVED, True)
    if firing and now >= sent.last_notified_at + timedelta(seconds=timing.repeat_interval):
        return Decision(REPEAT, True)
    if firing != sent.firing:  # some resolved, send_resolved off: remember it silently
        return Decision(SOME_RESOLVED, False)
    return NOTHING


def next_flush(
    now: datetime,
    timing: GroupTiming,
    last_notified_at: datetime | None,
    firing_left: bool,
    withheld: bool,
) -> tuple[datetime, str] | None:
    """When to look at the group again, and why; None when it can be dropped (nothing firing).

    Withheld alerts (silenced, inhibited, muted) are looked at every ``group_interval``: a
    silence can end without any event telling us.
    """
    interval = timedelta(seconds=timing.group_interval)
    if withheld:
        return now + interval, "group_interval: alerts withheld by a silence, inhibition or mute"
    if not firing_left:
        return None
    if last_notified_at is None:
        return now + interval, "group_interval"
    return last_notified_at + timedelta(seconds=timing.repeat_interval), "repeat_interval"
