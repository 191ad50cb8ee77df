"""The notification policy as an ordered list of small stages (STYLE.md G6); pure.

Each stage is ``(ctx, alerts) -> alerts``; a stage drops alerts by returning fewer, and an
empty list stops the chain (Alertmanager ``notify/notify.go`` MultiStage). What a stage learns
(who silenced what, the dedup decision) it writes on the context for dispatch to record.

    mute_time -> inhibit -> silence -> drop_unseen_resolved -> dedup -> drop_resolved_if_off
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from alerter.delivery.grouping import NOTHING, Decision, SentState, decide
from alerter.delivery.inhibition import DEFAULT_RULES, InhibitRule, Source, inhibited_by
from alerter.delivery.routing import ChannelRoute
from alerter.delivery.silences import MuteInterval, Silence, silenced_by


@dataclass(frozen=True)
class GroupAlert:
    """An alert of an aggregation group, latest state."""

    fingerprint: str
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    node_path: tuple[str, ...]
    value: float | None = None
    ends_at: datetime | None = None
    rule_id: int | None = None

    @property
    def firing(self) -> bool:
        return self.status == "firing"

    def to_json(self) -> dict[str, Any]:
        """What a notification stores in ``content`` (see notification_view.group_view)."""
        return {
            "fingerprint": self.fingerprint,
            "status": self.status,
            "labels": self.labels,
            "annotations": self.annotations,
            "value": self.value,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat() if self.ends_at else None,
        }


@dataclass
class FlushContext:
    """Inputs of one group flush, and what the stages decided."""

    channel: ChannelRoute
    now: datetime
    sent: SentState
    silences: Sequence[Silence] = ()
    sources: Sequence[Source] = ()
    mute_intervals: Sequence[MuteInterval] = ()
    rules: Sequence[InhibitRule] = DEFAULT_RULES
    # written by the stages
    muted_by: str | None = None
    withheld: dict[str, str] = field(default_factory=dict)  # fingerprint -> why
    decision: Decision = NOTHING


Stage = Callable[[FlushContext, list[GroupAlert]], list[GroupAlert]]


def mute_time(ctx: FlushContext, alerts: list[GroupAlert]) -> list[GroupAlert]:
    """Send nothing while one of the channel's mute time intervals is active."""
    active = next((m for m in ctx.mute_intervals if m.active(ctx.now)), None)
    if active is None:
        return alerts
    ctx.muted_by = active.name
    ctx.withheld.update({a.fingerprint: f"mute interval {active.name}" for a in alerts})
    return []


def inhibit(ctx: FlushContext, alerts: list[GroupAlert]) -> list[GroupAlert]:
    """Drop firing alerts muted by a firing source alert (e.g. no data at the same node)."""
    kept = []
    for alert in alerts:
        by = alert.firing and inhibited_by(alert.fingerprint, alert.labels, ctx.sources, ctx.rules)
        if by:
            ctx.withheld[alert.fingerprint] = "inhibited by " + ", ".join(by)
        else:
            kept.append(alert)
    return kept


def silence(ctx: FlushContext, alerts: list[GroupAlert]) -> list[GroupAlert]:
    """Drop firing alerts that an active silence in their subtree matches."""
    kept = []
    for alert in alerts:
        ids = alert.firing and silenced_by(ctx.silences, alert.labels, alert.node_path, ctx.now)
        if ids:
            ctx.withheld[alert.fingerprint] = "silenced by " + ", ".join(map(str, ids))
        else:
            kept.append(alert)
    return kept


def drop_unseen_resolved(ctx: FlushContext, alerts: list[GroupAlert]) -> list[GroupAlert]:
    """A resolved alert is news only to a receiver that was told it was firing."""
    return [a for a in alerts if a.firing or a.fingerprint in ctx.sent.firing]


def dedup(ctx: FlushContext, alerts: list[GroupAlert]) -> list[GroupAlert]:
    """Decide whether the group changed enough to notify (grouping.decide); stop if not.

    Alerts withheld now but already announced are neither news nor resolved: they stay out of
    both sides of the comparison, so a silence that ends re-announces nothing.
    """
    firing = frozenset(a.fingerprint for a in alerts if a.firing)
    resolved = frozenset(a.fingerprint for a in alerts if not a.firing)
    sent = SentState(
        ctx.sent.firing - ctx.withheld.keys(), ctx.sent.resolved, ctx.sent.last_notified_at
    )
    timing, send_resolved = ctx.channel.timing, ctx.channel.send_resolved
    ctx.decision = decide(firing, resolved, sent, ctx.now, timing, send_resolved)
    return alerts if ctx.decision.send else []


def drop_resolved_if_off(ctx: FlushContext, alerts: list[GroupAlert]) -> list[GroupAlert]:
    """Channels with send_resolved off get only the firing alerts."""
    return alerts if ctx.channel.send_resolved else [a for a in alerts if a.firing]


STAGES: list[Stage] = [
    mute_time,
    inhibit,
    silence,
    drop_unseen_resolved,
    dedup,
    drop_resolved_if_off,
]


def run(
    ctx: FlushContext, alerts: list[GroupAlert], stages: Sequence[Stage] = STAGES
) -> list[GroupAlert]:
    """Run the stages in order; an empty list stops the chain."""
    for stage in stages:
        alerts = stage(ctx, alerts)
        if not alerts:
            return []
    return alerts
