"""Send-side writes: notification claims and states, delivery_attempt/_counter, channel_state.

Also bot locks (advisory), the meta-alert sequence, and the fold of rate-limited notifications
into a digest. With ``delivery.store`` and ``delivery.config_store``, the only writers of the
tables in sql/0105. Claims use ``FOR UPDATE SKIP LOCKED``, the claiming dispatcher's session
(``claim_owner``, sending.owner) and a lease (``claimed_until`` + ``claim_token``): the claims
of a replica that dies mid-send are freed as soon as its session is gone (``free_orphans``),
those of one that hangs when its lease runs out; another one sends again, so delivery is at
least once and the receiver can drop repeats by the notification id and idempotency key it is
given.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from alerter.delivery.sending.owner import OWNER_LOCK_CLASS
from alerter.delivery.store import enqueue


@dataclass(frozen=True)
class Claim:
    """A notification this dispatcher holds the lease on (``token``)."""

    notification_id: int
    channel_id: int
    group_key: str
    kind: str
    content: Mapping[str, Any]
    attempt: int
    failures: int
    parts_sent: int
    created_at: datetime
    fallback_of: int | None
    token: uuid.UUID


def try_lock_bot(conn: Connection, bot_key: str) -> bool:
    """One replica at a time budgets a bot's rate; the others skip it this pass."""
    return bool(
        conn.execute(
            text("SELECT pg_try_advisory_xact_lock(hashtext('qw-bot:' || :k))"), {"k": bot_key}
        ).scalar()
    )


# Due notifications of a channel, the oldest of each group only: a group's notifications go
# out in order, so none is claimed while an older one is pending or in flight. A window
# function rather than a correlated NOT EXISTS: right after a burst the table has no
# statistics yet, and the planner then ran the NOT EXISTS as a nested loop (37 s for 5,000).
_DUE = (
    "SELECT notification_id FROM (SELECT notification_id, state, next_attempt_at,"
    " claimed_until, row_number() OVER (PARTITION BY group_key ORDER BY notification_id) AS nth"
    " FROM notification WHERE channel_id = :c AND state IN ('pending', 'sending')) q"
    " WHERE nth = 1 AND next_attempt_at <= :now"
    " AND (state = 'pending' OR claimed_until < :now) ORDER BY notification_id LIMIT :cap"
)


def due_notifications(conn: Connection, channel_id: int, now: datetime, cap: int) -> list[int]:
    """Lock up to ``cap`` due notifications of the channel, oldest first, skipping locked ones."""
    ids = conn.execute(text(_DUE), {"c": channel_id, "now": now, "cap": cap}).scalars().all()
    rows = conn.execute(
        text(
            "SELECT notification_id FROM notification WHERE notification_id = ANY (:ids)"
            " AND (state = 'pending' OR (state = 'sending' AND claimed_until < :now))"
            " ORDER BY notification_id FOR UPDATE SKIP LOCKED"
        ),
        {"ids": list(ids), "now": now},
    )
    return [row[0] for row in rows]


_CONTENTS = text(
    "SELECT content FROM notification WHERE notification_id = ANY (:ids) ORDER BY notification_id"
)


def fold(conn: Connection, channel_id: int, ids: Sequence[int], now: datetime, reason: str) -> int:
    """Merge the notifications ``ids`` into one digest: rate limits coalesce, never drop."""
    from alerter.delivery.sending.notification_view import merge_contents

    contents = conn.execute(_CONTENTS, {"ids": list(ids)}).scalars()
    digest = merge_contents(list(contents), f"digest/channel/{channel_id}", reason)
    digest["folded"] = list(ids)
    digest_id = enqueue(conn, channel_id, digest["group_key"], digest, now, kind="digest")
    conn.execute(
        text(
            "UPDATE notification SET state = 'folded', replaced_by = :d, claimed_until = NULL"
            " WHERE notification_id = ANY (:ids)"
        ),
        {"d": digest_id, "ids": list(ids)},
    )
    return digest_id


# The dispatchers alive now: those whose session holds its owner lock (sending.owner).
_LIVE_OWNERS = (
    "SELECT objid::bigint AS owner FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND classid = CAST(:k AS oid) AND objsubid = 2"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
# Claims whose owner's session is gone end their lease now, so the usual due queries take
# them over at once. Live owners' rows are never touched; SKIP LOCKED: replicas share this.
_FREE_ORPHANS = text(
    f"WITH live AS ({_LIVE_OWNERS}),"
    " orphan AS (SELECT notification_id FROM notification WHERE state = 'sending'"
    "  AND claimed_until >= :now AND claim_owner IS NOT NULL"
    "  AND claim_owner NOT IN (SELECT owner FROM live) FOR UPDATE SKIP LOCKED),"
    " freed AS (UPDATE notification n SET claimed_until = :expired FROM orphan o"
    "  WHERE n.notification_id = o.notification_id RETURNING 1)"
    " SELECT EXISTS (SELECT 1 FROM live WHERE owner = :me), (SELECT count(*) FROM freed)"
)


def free_orphans(conn: Connection, owner_id: int, now: datetime) -> tuple[bool, int]:
    """Free the claims of dispatchers whose session is gone; returns (our own lock is live,
    claims freed)."""
    row = conn.execute(
        _FREE_ORPHANS,
        {"k": OWNER_LOCK_CLASS, "me": owner_id, "now": now, "expired": now - _EPSILON},
    ).one()
    return bool(row[0]), int(row[1])


_EPSILON = timedelta(milliseconds=1)


def claim(
    conn: Connection,
    ids: Sequence[int],
    now: datetime,
    lease: timedelta,
    token: uuid.UUID,
    owner_id: int | None = None,
) -> list[Claim]:
    rows = conn.execute(
        text(
            "UPDATE notification SET state = 'sending', claimed_until = :until, claim_token = :t,"
            " claim_owner = :o, attempts = attempts + 1 WHERE notification_id = ANY (:ids)"
            " RETURNING notification_id, channel_id, group_key, kind, content, attempts AS attempt,"
            " failures, parts_sent, created_at, fallback_of"
        ),
        {"ids": list(ids), "until": now + lease, "t": token, "o": owner_id},
    )
    claims = [Claim(**dict(row._mapping), token=token) for row in rows]
    return sorted(claims, key=lambda c: c.notification_id)


def renew(conn: Connection, claims: Sequence[Claim], until: datetime) -> set[int]:
    """Extend the leases of claims still to send; returns the ids still ours (a lease that
    ran out may have been taken over by another replica, which then sends it)."""
    rows = conn.execute(
        text(
            "UPDATE notification SET claimed_until = :until WHERE notification_id = ANY (:ids)"
            " AND claim_token = ANY (:tokens) AND state = 'sending' RETURNING notification_id"
        ),
        {
            "ids": [c.notification_id for c in claims],
            "tokens": list({c.token for c in claims}),
            "until": until,
        },
    )
    return {row[0] for row in rows}


def release(conn: Connection, claims: Sequence[Claim], at: datetime) -> None:
    """Give claims back unsent (the bot is throttled or down): no attempt is counted."""
    for c in claims:
        conn.execute(
            text(
                "UPDATE notification SET state = 'pending', next_attempt_at = :at,"
                " claimed_until = NULL, attempts = attempts - 1"
                " WHERE notification_id = :id AND claim_token = :t AND state = 'sending'"
            ),
            {"id": c.notification_id, "t": c.token, "at": at},
        )


@dataclass(frozen=True)
class Attempt:
    """One row of delivery_attempt; ``error`` is already redacted."""

    channel_id: int
    bot_key: str
    kind: str
    attempt: int
    started_at: datetime
    status: str
    latency_ms: int
    parts: int
    vendor_code: str | None = None
    error: str | None = None
    retry_at: datetime | None = None
    notification_id: int | None = None
    test: bool = False


_INSERT_ATTEMPT = (
    "INSERT INTO delivery_attempt (notification_id, channel_id, bot_key, attempt, started_at,"
    " status, vendor_code, latency_ms, parts, error, retry_at, test) VALUES (:nid, :c, :bot,"
    " :attempt, :started, :status, :code, :latency, :parts, :error, :retry_at, :test)"
)
_COUNT = (
    "INSERT INTO delivery_counter AS d (kind, status, attempts, latency_sum_s, buckets)"
    " VALUES (:kind, :status, 1, :lat, CAST(:inc AS bigint[]))"
    " ON CONFLICT (kind, status) DO UPDATE SET attempts = d.attempts + 1,"
    " latency_sum_s = d.latency_sum_s + :lat,"
    " buckets = (SELECT array_agg(x + y ORDER BY i) FROM unnest(d.buckets,"
    " CAST(:inc AS bigint[])) WITH ORDINALITY AS t(x, y, i))"
)
# One round trip for the common case (the send loop's cost is mostly round trips): the
# attempt, the counters, the notification sent, the channel healthy. Returns whether the
# channel's meta-alert was firing (then the caller resolves it).
_SUCCESS = text(
    f"WITH a AS ({_INSERT_ATTEMPT}), k AS ({_COUNT}),"
    " n AS (UPDATE notification SET state = 'sent', claimed_until = NULL, parts_sent = :sent,"
    "  last_error = NULL, sent_at = :started WHERE notification_id = :nid AND claim_token = :t),"
    " old AS (SELECT meta_firing FROM channel_state WHERE channel_id = :c),"
    " s AS (UPDATE channel_state SET last_success_at = :started, meta_firing = false"
    "  WHERE channel_id = :c)"
    " SELECT meta_firing FROM old"
)


def _attempt_params(a: Attempt) -> dict[str, Any]:
    from alerter.delivery.metrics import BUCKETS

    latency_s = a.latency_ms / 1000
    return {
        "nid": a.notification_id,
        "c": a.channel_id,
        "bot": a.bot_key,
        "attempt": a.attempt,
        "started": a.started_at,
        "status": a.status,
        "code": a.vendor_code,
        "latency": a.latency_ms,
        "parts": a.parts,
        "error": a.error,
        "retry_at": a.retry_at,
        "test": a.test,
        "kind": a.kind,
        "lat": latency_s,
        "inc": [1 if latency_s <= bound else 0 for bound in BUCKETS],
    }


def record_attempt(conn: Connection, a: Attempt) -> None:
    """The attempt row and the /metrics counters."""
    conn.execute(text(f"WITH a AS ({_INSERT_ATTEMPT}) {_COUNT}"), _attempt_params(a))


def record_success(conn: Connection, a: Attempt, claim: Claim, parts_sent: int) -> bool:
    """Record a delivered notification; True if the channel's meta-alert was firing."""
    params = {**_attempt_params(a), "sent": parts_sent, "t": claim.token}
    return bool(conn.execute(_SUCCESS, params).scalar())


def settle(
    conn: Connection,
    claim: Claim,
    state: str,
    now: datetime,
    *,
    parts_sent: int,
    next_attempt_at: datetime | None = None,
    failures: int | None = None,
    error: str | None = None,
    tried: bool = True,
) -> bool:
    """Close an attempt: state sent, pending (retry at next_attempt_at) or dead. ``tried``
    False: the claim was given back unsent, so it does not count as an attempt."""
    row = conn.execute(
        text(
            "UPDATE notification SET state = :state, claimed_until = NULL,"
            " parts_sent = :parts, failures = COALESCE(:failures, failures),"
            " next_attempt_at = COALESCE(:next, next_attempt_at), last_error = :error,"
            " attempts = attempts - CASE WHEN :tried THEN 0 ELSE 1 END,"
            " sent_at = CASE WHEN :state = 'sent' THEN CAST(:now AS timestamptz) END,"
            " dead_at = CASE WHEN :state = 'dead' THEN CAST(:now AS timestamptz) END"
            " WHERE notification_id = :id AND claim_token = :t RETURNING 1"
        ),
        {
            "state": state,
            "parts": parts_sent,
            "failures": failures,
            "next": next_attempt_at,
            "error": error,
            "now": now,
            "id": claim.notification_id,
            "t": claim.token,
            "tried": tried,
        },
    ).first()
    return row is not None


def channel_health(conn: Connection, channel_id: int, now: datetime, error: str | None) -> None:
    if error is None:
        sql = "UPDATE channel_state SET last_success_at = :now WHERE channel_id = :c"
    else:
        sql = "UPDATE channel_state SET last_error = :e, last_error_at = :now WHERE channel_id = :c"
    conn.execute(text(sql), {"c": channel_id, "now": now, "e": error})


def block_bot(conn: Connection, bot_key: str, until: datetime) -> None:
    """Hold every channel on this bot until ``until`` (a vendor penalty, a failing receiver)."""
    conn.execute(
        text(
            "UPDATE channel_state s SET blocked_until = GREATEST(s.blocked_until, :until)"
            " FROM channel c WHERE c.channel_id = s.channel_id AND c.bot_key = :k"
        ),
        {"k": bot_key, "until": until},
    )


_FLIP_META = text(
    "UPDATE channel_state SET meta_firing = :f WHERE channel_id = :c"
    " AND meta_firing <> :f RETURNING 1"
)


def flip_meta(conn: Connection, channel_id: int, firing: bool) -> bool:
    """Set the channel's meta-alert flag; True if it changed (so the caller routes it)."""
    return conn.execute(_FLIP_META, {"c": channel_id, "f": firing}).first() is not None


def next_meta_seq(conn: Connection) -> int:
    """The next meta-alert's sequence number (its event order, like an outbox row's id)."""
    return int(conn.execute(text("SELECT nextval('meta_alert_seq')")).scalar_one())


# Only a dead notification comes back, with a clean slate: a fresh retry budget from now.
_REQUEUE_DEAD = text(
    "UPDATE notification SET state = 'pending', next_attempt_at = :now, failures = 0,"
    " dead_at = NULL WHERE notification_id = :id AND state = 'dead' RETURNING 1"
)


def requeue_dead(conn: Connection, notification_id: int, now: datetime) -> bool:
    return conn.execute(_REQUEUE_DEAD, {"id": notification_id, "now": now}).first() is not None
