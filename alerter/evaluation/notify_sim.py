"""How many notifications firing/resolved events make under Alertmanager's grouping (group_by,
group_wait, group_interval, repeat_interval); pure, for the backtest.

Per aggregation group, as in Alertmanager's dispatcher and DedupStage:
- the first firing alert opens the group and schedules a flush after ``group_wait``;
- flushes then happen every ``group_interval``; a flush sends when alerts were added
  ("new alerts added"), some resolved ("some alerts resolved" / "all alerts resolved"), or when
  ``repeat_interval`` has passed since the last send while alerts still fire ("repeat interval
  elapsed", so the repeat is in effect rounded up to a multiple of group_interval);
- a group whose alerts are all resolved and sent is closed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Timing:
    group_wait: timedelta = timedelta(seconds=30)
    group_interval: timedelta = timedelta(minutes=5)
    repeat_interval: timedelta = timedelta(hours=4)


@dataclass(frozen=True)
class AlertEvent:
    at: datetime
    fingerprint: str
    labels: Mapping[str, str]
    status: str  # firing | resolved


@dataclass(frozen=True)
class Notification:
    at: datetime
    group: str
    reason: str
    firing: int
    resolved: int


@dataclass
class _Group:
    key: str
    next_flush: datetime
    firing: set[str] = field(default_factory=set)
    resolved: set[str] = field(default_factory=set)
    last_sent: frozenset[str] | None = None
    last_sent_at: datetime | None = None


def group_key(labels: Mapping[str, str], group_by: Sequence[str]) -> str:
    return "{" + ", ".join(f'{name}="{labels.get(name, "")}"' for name in group_by) + "}"


def _reason(group: _Group, at: datetime, timing: Timing) -> str | None:
    current = frozenset(group.firing)
    if group.last_sent is None:
        return "first notification" if current else None
    if current - group.last_sent:
        return "new alerts added"
    if group.resolved:
        return "all alerts resolved" if not current else "some alerts resolved"
    if current and group.last_sent_at and at - group.last_sent_at >= timing.repeat_interval:
        return "repeat interval elapsed"
    return None


def _flush(group: _Group, at: datetime, timing: Timing) -> Notification | None:
    reason = _reason(group, at, timing)
    sent = None
    if reason is not None:
        sent = Notification(at, group.key, reason, len(group.firing), len(group.resolved))
        group.last_sent, group.last_sent_at = frozenset(group.firing), at
        group.resolved = set()
    group.next_flush = at + timing.group_interval
    return sent


def simulate(
    events: Iterable[AlertEvent], group_by: Sequence[str], timing: Timing, until: datetime
) -> list[Notification]:
    """Notifications sent for these events (sorted by time) up to `until`."""
    groups: dict[str, _Group] = {}
    sent: list[Notification] = []

    def flush_due(now: datetime) -> None:
        while True:
            due = [g for g in groups.values() if g.next_flush <= now]
            if not due:
                return
            group = min(due, key=lambda g: g.next_flush)
            notification = _flush(group, group.next_flush, timing)
            if notification is not None:
                sent.append(notification)
            if not group.firing and not group.resolved:
                del groups[group.key]

    for event in sorted(events, key=lambda e: e.at):
        flush_due(event.at)
        key = group_key(event.labels, group_by)
        group = groups.get(key)
        if event.status == "firing":
            if group is None:
                group = groups[key] = _Group(key, event.at + timing.group_wait)
            group.firing.add(event.fingerprint)
            group.resolved.discard(event.fingerprint)
        elif group is not None and event.fingerprint in group.firing:
            group.firing.discard(event.fingerprint)
            if group.last_sent and event.fingerprint in group.last_sent:
                group.resolved.add(event.fingerprint)  # only what was announced is resolved
    flush_due(until)
    return sent
