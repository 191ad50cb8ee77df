"""The send pass: claim due notifications per bot within its rate, send, record (sending.store).

First, free the claims of dispatchers whose database session is gone (a killed process:
sending.owner). Per channel, under a per-bot advisory lock: count what the bot took in the
last minute and second (attempts and live leases), fold the overflow beyond the minute budget
into one digest notification (coalesce, never drop), claim what fits (for a bot without a rate
limit, only what the senders are about to send), then send outside any transaction; then
again, while there is more. Each try is one ``delivery_attempt`` row. Outcomes (reference
§3.5):

* success: sent; a channel that was failing resolves its meta-alert;
* rate_limited: back to pending at ``max(Retry-After, vendor penalty)``; the whole bot waits;
* retryable: exponential backoff with jitter, honouring Retry-After; the bot's other claims
  wait with it and share the failure (the receiver is down for all of them);
* permanent, or the retry budget (``Settings.retry_budget_s``) spent: dead letter, the
  fallback channel, a meta-alert.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import requests
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from alerter.channels.base import Channel, Payload
from alerter.channels.errors import DeliveryError, Outcome
from alerter.channels.message import build_context
from alerter.delivery import reads
from alerter.delivery.channel_config import ChannelRecord, rates
from alerter.delivery.sending import store as sending_store
from alerter.delivery.sending.keyed_client import KeyedClient
from alerter.delivery.sending.notification_view import group_view
from alerter.delivery.sending.outcomes import SendStats, hold_rest, record_failure, record_success
from alerter.delivery.sending.owner import owner_of
from alerter.delivery.sending.retry import RetryPolicy
from quaywatch.settings import Settings

log = logging.getLogger(__name__)
FOLD_SCAN = 10_000  # most due notifications looked at per channel and pass when folding


class Halt:
    """Shared by the parts of one bot's batch: the first throttle or outage stops them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.error: DeliveryError | None = None

    def set(self, error: DeliveryError) -> None:
        with self._lock:
            self.error = self.error or error


@dataclass
class Batch:
    """One bot's claims, sent in order by one thread: a throttle stops them all."""

    bot_key: str
    limited: bool = False
    items: list[tuple[ChannelRecord, sending_store.Claim]] = field(default_factory=list)
    halt: Halt = field(default_factory=Halt)

    def split(self, parts: int) -> list[Batch]:
        """A bot without a rate limit takes several senders at once. Order within a group
        still holds: only a group's oldest notification is ever claimed."""
        if self.limited or parts <= 1 or len(self.items) <= 1:
            return [self]
        return [Batch(self.bot_key, False, self.items[i::parts], self.halt) for i in range(parts)]


def send_due(
    engine: Engine, settings: Settings, now: datetime, policy: RetryPolicy | None = None
) -> SendStats:
    """Claim a few per channel, send them, again, while there is more (``policy.rounds``)."""
    policy = policy or RetryPolicy.from_settings(settings)
    stats, began = SendStats(), time.monotonic()
    for _ in range(policy.rounds):
        clock = now + timedelta(seconds=time.monotonic() - began)
        step = _send_round(engine, settings, clock, policy)
        stats.add(step)
        stats.more = step.more
        if not step.more or step.sent == 0:  # done, or held back: the caller decides when
            break
    return stats


def _send_round(
    engine: Engine, settings: Settings, now: datetime, policy: RetryPolicy
) -> SendStats:
    stats, owner = SendStats(), owner_of(engine)
    owner_id = owner.current()
    with engine.connect() as conn:
        with conn.begin():
            ours_live, freed = sending_store.free_orphans(conn, owner_id, now)
        if freed:
            log.warning("took over %d claims of a dispatcher that is gone", freed)
        if not ours_live:  # our lock session died: claims stamped now would look orphaned
            owner.lost()
            owner_id = owner.current()
        channel_ids = reads.channels_with_due_work(conn, now)
    by_bot: dict[str, Batch] = {}
    for channel_id in channel_ids:
        claimed = _claim_channel(engine, channel_id, now, policy, stats, owner_id)
        if claimed is not None:
            record, claims = claimed
            limited = rates(record.kind, record.rate_per_minute) != (None, None)
            batch = by_bot.setdefault(record.bot_key, Batch(record.bot_key, limited))
            batch.items += [(record, c) for c in claims]
    batches = [part for b in by_bot.values() for part in b.split(policy.workers)]
    if not batches:
        return stats
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=min(policy.workers, len(batches))) as pool:
        jobs = [
            pool.submit(_send_batch, engine, settings, b, now, started, policy) for b in batches
        ]
        for job in jobs:
            stats.add(job.result())
    return stats


def _claim_channel(
    engine: Engine,
    channel_id: int,
    now: datetime,
    policy: RetryPolicy,
    stats: SendStats,
    owner_id: int,
) -> tuple[ChannelRecord, list[sending_store.Claim]] | None:
    with engine.begin() as conn:
        record = reads.channel_record(conn, channel_id)
        if record is None or not sending_store.try_lock_bot(conn, record.bot_key):
            return None  # another replica is budgeting this bot right now
        per_minute, per_second = rates(record.kind, record.rate_per_minute)
        used_minute, used_second = reads.bot_usage(conn, record.bot_key, now)
        budget = per_minute - used_minute if per_minute else policy.batch
        room = min(budget, per_second - used_second) if per_second else budget
        if room <= 0:
            return None  # the bot's budget is spent: later, not "again now"
        # One more than fits: it tells "more now" from "done" (the caller runs again).
        ids = sending_store.due_notifications(
            conn, channel_id, now, FOLD_SCAN if per_minute else budget + 1
        )
        if per_minute and len(ids) > budget:
            keep, rest = ids[: budget - 1], ids[budget - 1 :]
            reason = f"digest of {len(rest)} notifications (rate limit {per_minute}/min)"
            ids = keep + [sending_store.fold(conn, channel_id, rest, now, reason)]
            stats.folded += len(rest)
        stats.more |= len(ids) > room
        lease = timedelta(seconds=policy.lease_s)
        claims = sending_store.claim(conn, ids[:room], now, lease, uuid.uuid4(), owner_id)
    return (record, claims) if claims else None


def _send_batch(
    engine: Engine,
    settings: Settings,
    batch: Batch,
    now: datetime,
    started: float,
    policy: RetryPolicy,
) -> SendStats:
    """Send one bot's claims in order; stop at the first throttle or outage."""
    stats, rng, session = SendStats(), random.Random(), requests.Session()
    ours, renewed = {c.notification_id for _, c in batch.items}, time.monotonic()
    # One connection for the batch: a checkout per send costs a pre-ping round trip.
    conn = engine.connect()
    try:
        for index, (record, claim) in enumerate(batch.items):
            clock = now + timedelta(seconds=time.monotonic() - started)
            if batch.halt.error is not None:  # another part of this bot's batch hit a wall
                hold_rest(conn, batch.items[index:], batch.halt.error, clock, policy, rng, stats)
                break
            if time.monotonic() - renewed > policy.lease_s / 3:  # keep the leases alive
                ours = _renew(conn, batch.items[index:], clock, policy)
                renewed = time.monotonic()
            if claim.notification_id not in ours:
                continue  # the lease ran out and another replica took it over
            error = _deliver(conn, settings, record, claim, clock, session, policy, rng, stats)
            if error is not None and error.outcome is not Outcome.PERMANENT:
                batch.halt.set(error)
                hold_rest(conn, batch.items[index + 1 :], error, clock, policy, rng, stats)
                break
    finally:
        conn.close()
        session.close()
    return stats


def _renew(
    conn: Connection,
    items: list[tuple[ChannelRecord, sending_store.Claim]],
    clock: datetime,
    policy: RetryPolicy,
) -> set[int]:
    with conn.begin():
        claims = [c for _, c in items]
        return sending_store.renew(conn, claims, clock + timedelta(seconds=policy.lease_s))


def _deliver(
    conn: Connection,
    settings: Settings,
    record: ChannelRecord,
    claim: sending_store.Claim,
    clock: datetime,
    session: requests.Session,
    policy: RetryPolicy,
    rng: random.Random,
    stats: SendStats,
) -> DeliveryError | None:
    """One attempt at one notification, recorded; returns the error, if any."""
    client = KeyedClient(session, claim.notification_id, claim.parts_sent)
    begun = time.monotonic()
    try:
        channel = record.build(settings.allow_private_urls, client)
        payloads = _render(channel, claim, record, settings, clock)
        result = channel.send(payloads, timeout=policy.timeout_s)
    except DeliveryError as exc:
        error = exc
    except ValidationError as exc:
        error = DeliveryError(
            f"{record.kind}: stored config is invalid: {exc.error_count()} error(s)"
        )
    else:
        record_success(
            conn, record, claim, clock, result.vendor_code, result.latency_ms, len(payloads)
        )
        stats.sent += 1
        return None
    latency = round((time.monotonic() - begun) * 1000)
    record_failure(conn, record, claim, clock, error, latency, client.parts, policy, rng, stats)
    return error


def _render(
    channel: Channel,
    claim: sending_store.Claim,
    record: ChannelRecord,
    settings: Settings,
    clock: datetime,
) -> list[Payload]:
    """The payloads still to send (a split message resumes after the parts delivered)."""
    try:
        view = group_view(claim.content, record.name, settings.grafana_url, settings.public_url)
        payloads = channel.render(build_context(view, record.lang, now=clock))
    except Exception as exc:  # a template bug must dead-letter, not wedge the queue
        log.exception("rendering notification %d failed", claim.notification_id)
        raise DeliveryError(f"{record.kind}: rendering failed: {type(exc).__name__}") from None
    return payloads[claim.parts_sent :]
