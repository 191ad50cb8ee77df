"""Why an alert is (not) notified: Alertmanager's ``status`` for alert instances; reads only.

For ``GET /alerts`` and the rule preview. The silences, inhibit rules and their sources,
channels and mute intervals are read as dispatch reads them (``alerter.delivery.reads``,
``alerter.delivery.suppression.inhibit_rules``), and the verdict comes from the dispatcher's own stages
(``alerter.delivery.stages.alert_status``). The labels are the routing labels dispatch derives
(``severity``, ``node``); a ``theme`` is seen only when the rule sets it as a label.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from alerter.delivery import reads
from alerter.delivery.routing import RoutableAlert, routes_for, routing_labels
from alerter.delivery.stages import AlertStatus, GroupAlert, alert_status
from alerter.delivery.suppression.acks import active_acks
from alerter.delivery.suppression.inhibit_rules import enabled_rules, rule_sources


@dataclass(frozen=True)
class Candidate:
    """An alert instance as the status needs it."""

    fingerprint: str
    labels: Mapping[str, Any]
    severity: str
    node_id: str
    starts_at: datetime


def _paths(conn: Connection, node_ids: set[str]) -> dict[str, tuple[str, ...]]:
    rows = conn.execute(
        text("SELECT node_id, path FROM org_node WHERE node_id = ANY (:ids)"),
        {"ids": sorted(node_ids)},
    )
    return {node: tuple(path) for node, path in rows}


def statuses(conn: Connection, candidates: Sequence[Candidate], now: datetime) -> list[AlertStatus]:
    """Each candidate's status at ``now``, in order, as if it fired now."""
    if not candidates:
        return []
    rules = enabled_rules(conn)  # the stored inhibit rules, as dispatch loads them
    silences, sources = reads.active_silences(conn, now), rule_sources(conn, rules)
    channels = reads.channel_routes(conn)
    mutes = reads.channel_mute_intervals(conn, {c.channel_id for c in channels})
    acks = active_acks(conn, [c.fingerprint for c in candidates], now)
    paths = _paths(conn, {c.node_id for c in candidates})
    out = []
    for c in candidates:
        labels = routing_labels(c.labels, c.severity, c.node_id, None)
        path = paths.get(c.node_id, (c.node_id,))
        routable = RoutableAlert(
            c.fingerprint, "firing", labels, {}, c.starts_at, c.node_id, path, 0
        )
        routed = [mutes.get(r.channel_id, []) for r in routes_for(routable, channels)]
        alert = GroupAlert(c.fingerprint, "firing", labels, {}, c.starts_at, path)
        out.append(alert_status(alert, now, silences, sources, routed, acks, rules))
    return out
