"""Pull declarations from feeds, with the station feeds' protocol and machinery.

A feed answers GET <url>?<cursor_param>=<cursor> with a JSON array of declarations, or
{"events": [...], "next_cursor": "..."} (collector.station_feeds.fetch: timeouts, Retry-After,
no redirects). Valid declarations and the new cursor commit together with their screening, so a
crash never skips any; a failing feed backs off (station_feeds.backoff) without delaying others.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

from collector.events import FieldError, TimePolicy
from collector.risk.declarations import Declaration, load_rates, parse_indexed
from collector.risk.store import save_declarations
from collector.station_feeds import LEASE, FeedError, FeedOutcome, backoff, fetch
from collector.store import known_sites
from quaywatch.db import raw_connection
from quaywatch.log import redact
from quaywatch.settings import Settings


@dataclass(frozen=True)
class DeclarationFeed:
    feed_id: str
    url: str
    auth_header: str | None = None
    auth_secret: str | None = None
    cursor_param: str = "since"
    interval_s: int = 60


def upsert_feed(conn: Connection, feed: DeclarationFeed) -> None:
    conn.execute(
        text(
            "INSERT INTO declaration_feed (feed_id, url, auth_header, auth_secret, cursor_param,"
            " interval_s) VALUES (:feed_id, :url, :auth_header, :auth_secret, :cursor_param,"
            " :interval_s) ON CONFLICT (feed_id) DO UPDATE SET url = EXCLUDED.url,"
            " auth_header = EXCLUDED.auth_header, auth_secret = EXCLUDED.auth_secret,"
            " cursor_param = EXCLUDED.cursor_param, interval_s = EXCLUDED.interval_s,"
            " next_poll_at = now()"
        ),
        feed.__dict__,
    )


def _claim_due(engine: Engine) -> list[dict[str, Any]]:
    """Lease the due feeds (compare-and-set on next_poll_at) so replicas poll each once."""
    with engine.begin() as conn:
        rows = conn.execute(
            text(
                "UPDATE declaration_feed f SET next_poll_at = now() + :lease,"
                " last_polled_at = now() WHERE feed_id IN (SELECT feed_id FROM declaration_feed"
                " WHERE enabled AND next_poll_at <= now() FOR UPDATE SKIP LOCKED) RETURNING f.*"
            ),
            {"lease": LEASE},
        )
        return [dict(row) for row in rows.mappings()]


def poll_due(engine: Engine, settings: Settings) -> list[FeedOutcome]:
    """Poll every due feed once, one after the other (declaration feeds are few)."""
    return [poll_one(engine, settings, feed) for feed in _claim_due(engine)]


def poll_one(engine: Engine, settings: Settings, feed: dict[str, Any]) -> FeedOutcome:
    try:
        items, next_cursor = fetch(feed, settings.feed_timeout_s)
    except FeedError as exc:
        _record_failure(engine, feed, str(exc), exc.retry_after)
        return FeedOutcome(feed["feed_id"], False, error=str(exc))
    policy = TimePolicy(timedelta(seconds=settings.max_clock_skew_s), settings.naive_timezone)
    received = datetime.now(UTC)
    with engine.connect() as conn:
        rates = load_rates(conn)
    with raw_connection(engine) as conn:
        valid, errors = parse_indexed(items, policy, rates, known_sites(conn), received)
        result = save_declarations(conn, [d.as_row("pull", received) for _, d in valid])
        errors += [
            FieldError(valid[r.position][0], r.field, r.reason, r.declaration_id)
            for r in result.rejected
        ]
        errors.sort(key=lambda e: e.index)
        note = (
            f"{len(errors)} rejected, first: {errors[0].field}: {errors[0].reason}"
            if errors
            else None
        )
        with conn.cursor() as cur:
            cur.execute(
                "UPDATE declaration_feed SET cursor = %s, last_ok_at = now(), last_error = %s,"
                " consecutive_failures = 0, declarations_total = declarations_total + %s,"
                " next_poll_at = now() + make_interval(secs => interval_s) WHERE feed_id = %s",
                (
                    next_cursor or _latest([d for _, d in valid]) or feed["cursor"],
                    note,
                    result.stored,
                    feed["feed_id"],
                ),
            )
    return FeedOutcome(feed["feed_id"], True, result.stored + result.amended, len(errors))


def _latest(declarations: list[Declaration]) -> str | None:
    return max(d.declared_at for d in declarations).isoformat() if declarations else None


def _record_failure(
    engine: Engine, feed: dict[str, Any], error: str, retry_after: float | None
) -> None:
    delay = backoff(feed["interval_s"], feed["consecutive_failures"] + 1, retry_after)
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE declaration_feed SET consecutive_failures = consecutive_failures + 1,"
                " last_error = :e, next_poll_at = now() + make_interval(secs => :d)"
                " WHERE feed_id = :f"
            ),
            {"e": redact(error), "d": delay, "f": feed["feed_id"]},
        )
