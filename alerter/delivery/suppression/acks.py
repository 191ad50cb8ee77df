"""Acknowledgements as delivery sees them: read from ``alert_instance`` (evaluation writes it,
``alerter/evaluation/store.py``); writes nothing."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.engine import Connection

from alerter.delivery.stages import Ack


def active_acks(conn: Connection, fingerprints: Iterable[str], now: datetime) -> dict[str, Ack]:
    """The acks of these alerts that still hold at ``now``, by fingerprint."""
    rows = conn.execute(
        text(
            "SELECT fingerprint, acknowledged_by, ack_until FROM alert_instance"
            " WHERE fingerprint = ANY (:fps) AND ack_until > :now"
        ),
        {"fps": list(fingerprints), "now": now},
    )
    return {fp: Ack(by or "", until) for fp, by, until in rows}
