"""Which channels an alert goes to: those of its node and its ancestors that accept it; pure.

A channel attaches to an org node. An alert raised at a site reaches the site's channels, its
office's, its directly-affiliated customs' and the national centre's, each filtered by that
channel's matchers (severity, theme, any label). Unlike Alertmanager's route tree there is no
first-match-wins: every level that asks for an alert gets it, which is what a three-level
monitoring network needs (the office acts, the customs centre and the national centre watch).

Routing labels are the alert's labels plus ``severity``, ``node`` and ``theme`` taken from the
event row and the indicator catalogue, so matchers on them work even when a rule did not copy
them into its labels.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from alerter.delivery.grouping import GroupTiming
from alerter.delivery.matchers import Matcher, all_match, parse_matchers

ALERTMANAGER_RESEND_S = 60


@dataclass(frozen=True)
class RoutableAlert:
    """One alert state change, as dispatch routes it into groups."""

    fingerprint: str
    status: str  # firing | resolved
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: datetime
    node_id: str
    node_path: Sequence[str]
    seq: int  # alert_event id (or meta-alert sequence): later wins
    value: float | None = None
    ends_at: datetime | None = None
    rule_id: int | None = None


@dataclass(frozen=True)
class ChannelRoute:
    """A channel as routing and grouping see it (no secrets here)."""

    channel_id: int
    node_id: str
    name: str
    matchers: tuple[Matcher, ...] = ()
    group_by: tuple[str, ...] = ("alertname",)
    timing: GroupTiming = field(default_factory=GroupTiming)
    send_resolved: bool = True

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> ChannelRoute:
        repeat = row["repeat_interval_s"]
        if row.get("kind") == "alertmanager":
            # Alertmanager resolves a pushed alert it has not heard of for resolve_timeout
            # (5 min), so firing alerts are pushed again every minute, as Prometheus does
            # (--rules.alert.resend-delay=1m; reference §2.2).
            repeat = min(repeat, ALERTMANAGER_RESEND_S)
        return cls(
            channel_id=row["channel_id"],
            node_id=row["node_id"],
            name=row["name"],
            matchers=tuple(parse_matchers(row["matchers"])),
            group_by=tuple(row["group_by"]),
            timing=GroupTiming(row["group_wait_s"], row["group_interval_s"], repeat),
            send_resolved=row["send_resolved"],
        )


def routing_labels(
    labels: Mapping[str, Any], severity: str, node_id: str, theme: str | None
) -> dict[str, str]:
    """The label set matchers and group_by see; the rule's own labels win over derived ones."""
    derived = {"severity": severity, "node": node_id}
    if theme:
        derived["theme"] = theme
    return {**derived, **{str(k): str(v) for k, v in labels.items()}}


def accepts(channel: ChannelRoute, alert: RoutableAlert) -> bool:
    """The channel sits on the alert's node or an ancestor, and its matchers accept the alert."""
    return channel.node_id in alert.node_path and all_match(channel.matchers, alert.labels)


def routes_for(
    alert: RoutableAlert, channels: Iterable[ChannelRoute], exclude: Iterable[int] = ()
) -> list[ChannelRoute]:
    """Every channel that receives ``alert``, nearest node first; ``exclude`` drops channel ids
    (a failing channel never receives its own delivery-failure meta-alert)."""
    skipped = set(exclude)
    chosen = [c for c in channels if c.channel_id not in skipped and accepts(c, alert)]
    depth = {node: i for i, node in enumerate(alert.node_path)}
    return sorted(chosen, key=lambda c: (-depth[c.node_id], c.channel_id))
