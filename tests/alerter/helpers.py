"""Helpers for the delivery tests: channels written through the store, alert events written
into the outbox the way evaluation does, and what a fake receiver accepted."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text

from alerter.channels.message import fingerprint
from alerter.delivery import config_store
from alerter.delivery.channel_config import bot_key, validate
from alerter.delivery.sending.retry import RetryPolicy
from tests.fakes.im_server import ImServer

T0 = datetime(2026, 8, 22, 3, 0, 0, tzinfo=UTC)
TOKEN = "tok7f3a9c2e5b1d4a6f8e0c91b2"
SECRET = "SEC9d8c7b6a5f4e3d2c1b0a998877665544332211"
# Fast retries for tests: 0.01 s doubling, 3 failures.
_names = itertools.count(1)
FAST = RetryPolicy(base_s=0.01, cap_s=0.05, max_failures=3, timeout_s=2.0, lease_s=5.0)


def create_channel(engine: Engine, kind: str, config: dict[str, Any], **fields: Any) -> int:
    readable, secrets = validate(kind, config)
    values = {
        "node_id": "CN",
        "name": f"{kind}-{next(_names)}",
        "kind": kind,
        "config": readable,
        "secrets": secrets,
        "bot_key": bot_key(kind, secrets),
        **fields,
    }
    with engine.begin() as conn:
        return config_store.create_channel(conn, values, "test")


def emit(
    engine: Engine,
    status: str = "firing",
    *,
    node_id: str = "3101-BEILUN",
    severity: str = "critical",
    starts_at: datetime = T0,
    ends_at: datetime | None = None,
    **labels: str,
) -> str:
    """Insert one alert_event like evaluation does; returns the alert's fingerprint."""
    labels = {"alertname": "BerthQueueHigh", "site": node_id, "kind": "threshold", **labels}
    fp = fingerprint(labels)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO alert_event (fingerprint, rule_id, node_id, status, severity, labels,"
                " annotations, value, starts_at, ends_at) VALUES (:fp, 1, :node, :status, :sev,"
                " CAST(:labels AS jsonb), CAST(:notes AS jsonb), 45, :starts, :ends)"
            ),
            {
                "fp": fp,
                "node": node_id,
                "status": status,
                "sev": severity,
                "labels": json.dumps(labels),
                "notes": json.dumps({"summary": f"queue above 40 at {node_id}"}),
                "starts": starts_at,
                "ends": None
                if status == "firing"
                else ends_at or starts_at + timedelta(minutes=10),
            },
        )
    return fp


def rows(engine: Engine, sql: str, **params: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(sql), params).mappings()]


def delivered(server: ImServer) -> list[dict[str, Any]]:
    """Bodies the receiver accepted, with the notification id header."""
    return [
        {**r.json, "_id": r.headers.get("X-QuayWatch-Notification-Id")}
        for r in server.requests
        if r.verdict == "ok"
    ]
