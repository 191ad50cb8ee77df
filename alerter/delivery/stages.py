"""The notification policy as an ordered list of small stages (STYLE.md G6); pure.

Each stage is ``(ctx, alerts) -> alerts``; a stage drops alerts by returning fewer, and an
empty list stops the chain (Alertmanager ``notify/notify.go`` MultiStage). What a stage learns
(who silenced what, the dedup decision) it writes on the context for dispatch to record.

    mute_time -> inhibit -> silence -> drop_unseen_resolved -> dedup -> acknowledged
              -> drop_resolved_if_off

``alert_status`` runs the first three on one alert to answer "why is it withheld?" with
Alertmanager's ``status`` (``silencedBy``, ``inhibitedBy``, ``mutedBy``) plus the ack, for
``GET /alerts`` and the rule preview, so they can never disagree with what dispatch does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from alerter.delivery.grouping import NOTHING, REPEAT, Decision, SentState, decide
from alerter.delivery.routing import ChannelRoute
from alerter.delivery.suppression.inhibition import DEFAULT_RULES, InhibitRule, Source, inhibited_by
from alerter.delivery.suppression.silences import MuteInterval, Silence, silenced_by


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


@dataclass(frozen=True)
class Ack:
    """An acknowledgement: who, and until when it holds back repeat notifications."""

    by: str
    until: datetime

    def holds(self, now: datetime) -> bool:
        return now < self.until

    def as_json(self) -> dict[str, str]:
        return {"by": self.by, "until": self.until.isoformat()}


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
    acks: Mapping[str, Ack] = field(default_factory=dict)  # fingerprint -> its ack
    # written by the stages
    muted_by: str | None = None
    withheld: dict[str, str] = field(default_factory=dict)  # fingerprint -> why
    silenced: dict[str, list[int]] = field(default_factory=dict)  # fingerprint -> silence ids
    inhibited: dict[str, list[str]] = field(default_factory=dict)  # fingerprint -> sources
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
    """Drop firing alerts muted by a firing source alert (e.g. no data at the same node),
    under ``ctx.rules``: dispatch passes the stored rules (delivery.suppression.inhibit_rules), which may
    be none at all; DEFAULT_RULES is only the default of a context built by hand."""
    kept = []
    for alert in alerts:
        by = alert.firing and inhibited_by(
            alert.fingerprint, alert.labels, ctx.sources, ctx.rules, alert.node_path
        )
        if by:
            ctx.inhibited[alert.fingerprint] = by
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
            ctx.silenced[alert.fingerprint] = ids
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


def acknowledged(ctx: FlushContext, alerts: list[GroupAlert]) -> list[GroupAlert]:
    """Leave acknowledged firing alerts out of a repeat until the ack expires or is withdrawn.

    Only the repeat: news (new alerts, resolutions) still goes out with them, as on-call tools
    do. A repeat left with no firing alert is not sent; the withheld alerts stay announced, and
    the group is looked at every group_interval, so the repeat follows the ack's end.
    """
    if ctx.decision.reason != REPEAT:
        return alerts
    held = {
        a.fingerprint: ack
        for a in alerts
        if a.firing and (ack := ctx.acks.get(a.fingerprint)) is not None and ack.holds(ctx.now)
    }
    for fp, ack in held.items():
        ctx.withheld[fp] = f"acknowledged by {ack.by} until {ack.until.isoformat()}"
    kept = [a for a in alerts if a.fingerprint not in held]
    if not any(a.firing for a in kept):
        ctx.decision = NOTHING
        return []
    return kept


def drop_resolved_if_off(ctx: FlushContext, alerts: list[GroupAlert]) -> list[GroupAlert]:
    """Channels with send_resolved off get only the firing alerts."""
    return alerts if ctx.channel.send_resolved else [a for a in alerts if a.firing]


STAGES: list[Stage] = [
    mute_time,
    inhibit,
    silence,
    drop_unseen_resolved,
    dedup,
    acknowledged,
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


# --- why an alert is withheld ---------------------------------------------------------------

STATUS_ROUTE = ChannelRoute(0, "", "status")  # the stages below never read the channel


@dataclass(frozen=True)
class AlertStatus:
    """Alertmanager's ``status`` of an alert, plus our acknowledgement."""

    silenced_by: tuple[int, ...] = ()
    inhibited_by: tuple[str, ...] = ()
    muted_by: tuple[str, ...] = ()  # active mute intervals of the channels it routes to
    muted_everywhere: bool = False  # every channel it routes to is muted now
    acknowledged: Ack | None = None
    reasons: tuple[str, ...] = ()  # as dispatch records them in ``withheld``

    @property
    def suppressed(self) -> bool:
        return bool(self.silenced_by or self.inhibited_by or self.muted_everywhere)

    def as_json(self) -> dict[str, Any]:
        return {
            "state": "suppressed" if self.suppressed else "active",
            "silencedBy": list(self.silenced_by),
            "inhibitedBy": list(self.inhibited_by),
            "mutedBy": list(self.muted_by),
            "acknowledged": self.acknowledged.as_json() if self.acknowledged else None,
        }


def alert_status(
    alert: GroupAlert,
    now: datetime,
    silences: Sequence[Silence],
    sources: Sequence[Source],
    route_mutes: Sequence[Sequence[MuteInterval]],
    acks: Mapping[str, Ack],
    rules: Sequence[InhibitRule] = DEFAULT_RULES,
) -> AlertStatus:
    """Run mute_time (once per channel the alert routes to, ``route_mutes``), inhibit and
    silence on the alert, each on its own so that every reason is reported, not the first."""
    fp = alert.fingerprint

    def probe(**fields: Any) -> FlushContext:
        return FlushContext(STATUS_ROUTE, now, SentState(), rules=rules, **fields)

    muted = [probe(mute_intervals=m) for m in route_mutes]
    inhibited, silenced = probe(sources=sources), probe(silences=silences)
    for ctx in muted:
        mute_time(ctx, [alert])
    inhibit(inhibited, [alert])
    silence(silenced, [alert])
    everywhere = bool(muted) and all(c.muted_by for c in muted)
    reasons = [muted[0].withheld[fp]] if everywhere else []
    reasons += [c.withheld[fp] for c in (inhibited, silenced) if fp in c.withheld]
    ack = acks.get(fp)
    return AlertStatus(
        silenced_by=tuple(silenced.silenced.get(fp, ())),
        inhibited_by=tuple(inhibited.inhibited.get(fp, ())),
        muted_by=tuple(sorted({c.muted_by for c in muted if c.muted_by})),
        muted_everywhere=everywhere,
        acknowledged=ack if ack is not None and ack.holds(now) else None,
        reasons=tuple(reasons),
    )
