"""Test sends (``POST /channels/<id>/test``, ``channels test``): one recorded delivery_attempt.

One attempt, never retried (a person is waiting for the answer, healthchecks'
``test_notify`` does the same), recorded like any attempt (``test`` = true) so it shows in the
delivery history and counts against the bot's rate limit. A bot whose minute budget is spent
is not sent to at all: a DingTalk robot pushed past 20 a minute is banned for 10 minutes.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine

from alerter.channels.errors import DeliveryError
from alerter.channels.http import redact
from alerter.channels.message import build_context
from alerter.delivery import reads
from alerter.delivery.channel_config import ChannelRecord, rates
from alerter.delivery.sending import store as sending_store
from alerter.delivery.sending.keyed_client import KeyedClient
from alerter.delivery.sending.notification_view import group_view
from quaywatch.settings import Settings

TEST_ALERTNAME = "QuayWatchTest"


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    status: str  # success | rate_limited | retryable | permanent
    latency_ms: int = 0
    parts: int = 0
    vendor_code: str | None = None
    error: str | None = None  # redacted
    retry_after: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sample_content(record: ChannelRecord, now: datetime) -> dict[str, Any]:
    summary = {
        "zh": f"QuayWatch 测试消息：渠道 {record.name} 工作正常",
        "en": f"Test message from QuayWatch: channel {record.name} works",
    }[record.lang]
    alert = {
        "fingerprint": "0000000000000000",
        "status": "firing",
        "labels": {
            "alertname": TEST_ALERTNAME,
            "severity": "info",
            "kind": "test",
            "node": record.node_id,
        },
        "annotations": {"summary": summary},
        "value": None,
        "starts_at": now.isoformat(),
        "ends_at": None,
    }
    return {"group_key": f"test/channel/{record.channel_id}", "reason": "test", "alerts": [alert]}


def send_test(
    engine: Engine, settings: Settings, record: ChannelRecord, timeout: float = 10.0
) -> ProbeResult:
    now = datetime.now(UTC)
    with engine.connect() as conn:
        per_minute, _ = rates(record.kind, record.rate_per_minute)
        used, _ = reads.bot_usage(conn, record.bot_key, now)
    if per_minute and used >= per_minute:
        reason = f"not sent: {used} messages to this bot in the last minute (limit {per_minute})"
        return ProbeResult(False, "rate_limited", error=reason, retry_after=60.0)
    client, begun = KeyedClient(None, None), time.monotonic()
    try:
        channel = record.build(settings.allow_private_urls, client)
        view = group_view(sample_content(record, now), record.name, settings.grafana_url)
        result = channel.send(channel.render(build_context(view, record.lang, now=now)), timeout)
        outcome = ProbeResult(True, "success", result.latency_ms, client.parts, result.vendor_code)
    except DeliveryError as exc:
        latency = round((time.monotonic() - begun) * 1000)
        text = redact(str(exc), record.secret_values)
        outcome = ProbeResult(
            False, exc.outcome.value, latency, max(client.parts, 1), exc.vendor_code, text,
            exc.retry_after,
        )  # fmt: skip
    except ValidationError as exc:
        outcome = ProbeResult(
            False, "permanent", error=f"stored config invalid: {exc.error_count()} error(s)"
        )
    finally:
        client.close()
    _record(engine, record, outcome, now)
    return outcome


def _record(engine: Engine, record: ChannelRecord, outcome: ProbeResult, now: datetime) -> None:
    attempt = sending_store.Attempt(
        record.channel_id, record.bot_key, record.kind, 1, now, outcome.status,
        outcome.latency_ms, outcome.parts, outcome.vendor_code, outcome.error, test=True,
    )  # fmt: skip
    with engine.begin() as conn:
        sending_store.record_attempt(conn, attempt)
        sending_store.channel_health(conn, record.channel_id, now, outcome.error)
