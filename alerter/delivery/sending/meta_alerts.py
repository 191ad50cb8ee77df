"""Meta-alerts ("channel X is failing"), routed like other alerts (active_alert, groups).

When a notification is dead-lettered, the channel's node and its ancestors hear about it
through their other channels (never through the failing one), once per outage: the alert
resolves on the channel's next successful delivery. A dead notification that itself carried
only meta-alerts raises none, so a broken channel cannot start a cascade.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from alerter.channels.message import fingerprint
from alerter.delivery import reads, store
from alerter.delivery.channel_config import ChannelRecord
from alerter.delivery.routing import RoutableAlert, routes_for
from alerter.delivery.sending import store as sending_store

ALERTNAME = "QuayWatchDeliveryFailed"
KIND = "meta"


def labels_for(record: ChannelRecord) -> dict[str, str]:
    return {
        "alertname": ALERTNAME,
        "severity": "critical",
        "kind": KIND,
        "channel": record.name,
        "channel_id": str(record.channel_id),
        "channel_kind": record.kind,
        "node": record.node_id,
    }


def only_meta(content: Mapping[str, Any]) -> bool:
    alerts = content.get("alerts", [])
    return bool(alerts) and all(a["labels"].get("kind") == KIND for a in alerts)


def route_meta(
    conn: Connection, record: ChannelRecord, firing: bool, now: datetime, error: str = ""
) -> int:
    """Route the channel's meta-alert (firing or resolved); returns how many channels get it."""
    labels = labels_for(record)
    summary = (
        f"Notifications to channel {record.name} ({record.kind}) failed and were dead-lettered"
        if firing
        else f"Channel {record.name} ({record.kind}) delivers again"
    )
    notes = {"summary": summary, "description": error} if error else {"summary": summary}
    alert = RoutableAlert(
        fingerprint=fingerprint(labels),
        status="firing" if firing else "resolved",
        labels=labels,
        annotations=notes,
        starts_at=now,
        ends_at=None if firing else now,
        node_id=record.node_id,
        node_path=reads.node_path(conn, record.node_id) or [record.node_id],
        seq=sending_store.next_meta_seq(conn),
    )
    store.record_active_alert(conn, alert, now)
    routes = routes_for(alert, reads.channel_routes(conn), exclude=[record.channel_id])
    for route in routes:
        store.add_to_group(conn, route, alert, now)
    return len(routes)
