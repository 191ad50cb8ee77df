"""Recording a send's outcome (via sending.store): the attempt, the notification's next state,
the channel's health, and for a spent budget the dead letter (fallback, meta-alert).

Each function runs in its own short transaction on the batch's connection.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from alerter.channels.errors import DeliveryError, Outcome
from alerter.channels.http import redact
from alerter.delivery.channel_config import ChannelRecord
from alerter.delivery.sending import store as sending_store
from alerter.delivery.sending.dead_letters import dead_letter
from alerter.delivery.sending.meta_alerts import route_meta
from alerter.delivery.sending.retry import RetryPolicy, next_step

log = logging.getLogger("alerter.delivery.sending.send_pass")


@dataclass
class SendStats:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    folded: int = 0
    more: bool = False

    def add(self, other: SendStats) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.dead += other.dead
        self.folded += other.folded
        self.more |= other.more


def record_success(
    conn: Connection,
    record: ChannelRecord,
    claim: sending_store.Claim,
    clock: datetime,
    code: str | None,
    latency_ms: int,
    parts: int,
) -> None:
    attempt = attempt_row(
        record, claim, clock, "success", latency_ms=latency_ms, parts=parts, vendor_code=code
    )
    with conn.begin():
        if sending_store.record_success(conn, attempt, claim, claim.parts_sent + parts):
            route_meta(conn, record, False, clock)


def attempt_row(
    record: ChannelRecord, claim: sending_store.Claim, clock: datetime, status: str, **outcome: Any
) -> sending_store.Attempt:
    """The claim's attempt on ``record``'s channel; ``outcome`` holds the rest of Attempt's
    fields (latency_ms and parts, and vendor_code, error and retry_at when there are any)."""
    return sending_store.Attempt(
        record.channel_id, record.bot_key, record.kind, claim.attempt, clock, status,
        notification_id=claim.notification_id, **outcome,
    )  # fmt: skip


def record_failure(
    conn: Connection,
    record: ChannelRecord,
    claim: sending_store.Claim,
    clock: datetime,
    error: DeliveryError,
    latency_ms: int,
    parts: int,
    policy: RetryPolicy,
    rng: random.Random,
    stats: SendStats,
) -> None:
    text = redact(str(error), record.secret_values)
    retry_at, failures = next_step(claim, error, clock, policy, rng)
    status = error.outcome.value
    attempt = attempt_row(
        record, claim, clock, status, latency_ms=latency_ms, parts=max(parts, 1),
        vendor_code=error.vendor_code, error=text, retry_at=retry_at,
    )  # fmt: skip
    with conn.begin():
        sending_store.record_attempt(conn, attempt)
        sending_store.channel_health(conn, record.channel_id, clock, text)
        parts_sent = claim.parts_sent + error.parts_sent
        if retry_at is None:
            sending_store.settle(
                conn, claim, "dead", clock, parts_sent=parts_sent, failures=failures, error=text
            )
            dead_letter(conn, record, claim, text, clock)
            stats.dead += 1
        else:
            sending_store.settle(
                conn, claim, "pending", clock, parts_sent=parts_sent, next_attempt_at=retry_at,
                failures=failures, error=text,
            )  # fmt: skip
            sending_store.block_bot(conn, record.bot_key, retry_at)
            stats.failed += 1
    log.warning(
        "notification %d to channel %d: %s (%s)%s",
        claim.notification_id, record.channel_id, status, text,
        f", retry at {retry_at:%H:%M:%S}" if retry_at else ", dead-lettered",
    )  # fmt: skip


def hold_rest(
    conn: Connection,
    rest: list[tuple[ChannelRecord, sending_store.Claim]],
    error: DeliveryError,
    clock: datetime,
    policy: RetryPolicy,
    rng: random.Random,
    stats: SendStats,
) -> None:
    """The bot is throttled or down: give the remaining claims back without sending. An
    outage counts as a failure for each of them too, so they reach the fallback together."""
    if not rest:
        return
    stats.more = True
    with conn.begin():
        if error.outcome is Outcome.RATE_LIMITED:
            wait = error.retry_after or policy.rate_limit_wait_s
            sending_store.release(conn, [c for _, c in rest], clock + timedelta(seconds=wait))
            return
        for record, claim in rest:
            text = redact(str(error), record.secret_values)
            retry_at, failures = next_step(claim, error, clock, policy, rng)
            state = "pending" if retry_at else "dead"
            sending_store.settle(
                conn, claim, state, clock, parts_sent=claim.parts_sent, next_attempt_at=retry_at,
                failures=failures, error=text, tried=False,
            )  # fmt: skip
            if retry_at is None:
                dead_letter(conn, record, claim, text, clock)
                stats.dead += 1
