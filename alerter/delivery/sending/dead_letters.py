"""A spent retry budget: the fallback notification and the meta-alert, via the two stores.

The notification stays in the table with state ``dead`` (the dead letter; the API lists and
requeues them). Its alerts go to the channel's fallback channel, once (a fallback's own
failure does not chain further, grafana#118274 asks for exactly this one level), and the
channel's node hears "delivery failed" through its other channels (``meta_alerts``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.engine import Connection

from alerter.delivery import store
from alerter.delivery.channel_config import ChannelRecord
from alerter.delivery.sending import store as sending_store
from alerter.delivery.sending.meta_alerts import only_meta, route_meta


def dead_letter(
    conn: Connection, record: ChannelRecord, claim: sending_store.Claim, error: str, now: datetime
) -> None:
    """Called in the transaction that marked the notification dead."""
    fallback = _enabled_fallback(conn, record)
    if fallback is not None and claim.kind != "fallback":
        reason = f"fallback for channel {record.name}: {claim.content.get('reason', '')}"
        content = {**claim.content, "reason": reason}
        store.enqueue(
            conn, fallback, claim.group_key, content, now,
            kind="fallback", fallback_of=claim.notification_id,
        )  # fmt: skip
    if not only_meta(claim.content) and sending_store.flip_meta(conn, record.channel_id, True):
        route_meta(conn, record, True, now, error)


def _enabled_fallback(conn: Connection, record: ChannelRecord) -> int | None:
    if record.fallback_channel_id is None:
        return None
    row = conn.execute(
        text("SELECT enabled FROM channel WHERE channel_id = :c"),
        {"c": record.fallback_channel_id},
    ).first()
    return record.fallback_channel_id if row and row[0] else None
