"""Pull events from station feeds with requests: timeouts, backoff, Retry-After, stored cursors.

A feed answers GET <url>?<cursor_param>=<cursor> with a JSON array of events, or an object
{"events": [...], "next_cursor": "..."}. Valid events and the new cursor are committed together,
so a crash never skips events; a failing feed backs off on its own and never delays the others.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import psycopg
import requests
from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

from collector.events import CONFLICT_REASON, FieldError, TimePolicy, parse_batch
from collector.store import known_sites, save_events
from quaywatch.db import raw_connection
from quaywatch.log import redact
from quaywatch.settings import Settings

MAX_BACKOFF = timedelta(hours=1)
LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class FeedConfig:
    feed_id: str
    url: str
    site_id: str | None = None
    auth_header: str | None = None
    auth_secret: str | None = None
    cursor_param: str = "since"
    interval_s: int = 60


@dataclass(frozen=True)
class FeedOutcome:
    feed_id: str
    ok: bool
    stored: int = 0
    rejected: int = 0
    error: str | None = None

    def describe(self) -> str:
        if self.ok:
            return f"{self.feed_id}: {self.stored} new events, {self.rejected} rejected"
        return f"{self.feed_id}: failed: {self.error}"


class FeedError(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def upsert_feed(conn: Connection, feed: FeedConfig) -> None:
    conn.execute(
        text(
            "INSERT INTO station_feed (feed_id, url, site_id, auth_header, auth_secret,"
            " cursor_param, interval_s) VALUES (:feed_id, :url, :site_id, :auth_header,"
            " :auth_secret, :cursor_param, :interval_s) ON CONFLICT (feed_id) DO UPDATE SET"
            " url = EXCLUDED.url, site_id = EXCLUDED.site_id, auth_header = EXCLUDED.auth_header,"
            " auth_secret = EXCLUDED.auth_secret, cursor_param = EXCLUDED.cursor_param,"
            " interval_s = EXCLUDED.interval_s, next_poll_at = now()"
        ),
        feed.__dict__,
    )


def _claim_due(engine: Engine) -> list[dict[str, Any]]:
    """Lease the due feeds (compare-and-set on next_poll_at) so replicas poll each once."""
    with engine.begin() as conn:
        rows = conn.execute(
            text(
                "UPDATE station_feed f SET next_poll_at = now() + :lease, last_polled_at = now()"
                " WHERE feed_id IN (SELECT feed_id FROM station_feed WHERE enabled"
                " AND next_poll_at <= now() FOR UPDATE SKIP LOCKED) RETURNING f.*"
            ),
            {"lease": LEASE},
        )
        return [dict(row) for row in rows.mappings()]


def poll_due(engine: Engine, settings: Settings, workers: int = 4) -> list[FeedOutcome]:
    feeds = _claim_due(engine)
    if not feeds:
        return []
    with ThreadPoolExecutor(max_workers=min(workers, len(feeds))) as pool:
        return list(pool.map(lambda feed: poll_one(engine, settings, feed), feeds))


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        try:
            return max((parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds(), 0.0)
        except (TypeError, ValueError):
            return None


def fetch(feed: dict[str, Any], timeout: float) -> tuple[list[Any], str | None]:
    """GET one page; raise FeedError on a timeout, an error status or a body that is not events."""
    headers = {"Accept": "application/json"}
    if feed["auth_header"] and feed["auth_secret"]:
        headers[feed["auth_header"]] = feed["auth_secret"]
    params = {feed["cursor_param"]: feed["cursor"]} if feed["cursor"] else {}
    try:
        response = requests.get(
            feed["url"], params=params, headers=headers, timeout=timeout, allow_redirects=False
        )
    except requests.Timeout:
        raise FeedError(f"timed out after {timeout:g} s") from None
    except requests.RequestException as exc:
        raise FeedError(f"request failed: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise FeedError(
            f"HTTP {response.status_code}", _retry_after(response.headers.get("Retry-After"))
        )
    try:
        body = response.json()
    except ValueError:
        raise FeedError("response is not JSON") from None
    if isinstance(body, list):
        return body, None
    if isinstance(body, dict) and isinstance(body.get("events"), list):
        cursor = body.get("next_cursor")
        return body["events"], str(cursor) if cursor is not None else None
    raise FeedError('response is neither an array of events nor {"events": [...]}')


def poll_one(engine: Engine, settings: Settings, feed: dict[str, Any]) -> FeedOutcome:
    try:
        items, next_cursor = fetch(feed, settings.feed_timeout_s)
    except FeedError as exc:
        _record_failure(engine, feed, str(exc), exc.retry_after)
        return FeedOutcome(feed["feed_id"], False, error=str(exc))
    policy = TimePolicy(timedelta(seconds=settings.max_clock_skew_s), settings.naive_timezone)
    received = datetime.now(UTC)
    with raw_connection(engine) as conn:
        valid, errors = parse_batch(items, policy, _writable_sites(conn, feed), now=received)
        result = save_events(conn, [e.as_row("pull", received) for e in valid])
        errors += [
            FieldError(p, "event_id", CONFLICT_REASON, valid[p].event_id) for p in result.conflicts
        ]
        cursor = next_cursor or _latest(valid) or feed["cursor"]
        note = (
            f"{len(errors)} events rejected, first: {errors[0].field}: {errors[0].reason}"
            if errors
            else None
        )
        with conn.cursor() as cur:
            cur.execute(
                "UPDATE station_feed SET cursor = %s, last_ok_at = now(), last_error = %s,"
                " consecutive_failures = 0, events_total = events_total + %s,"
                " next_poll_at = now() + make_interval(secs => interval_s) WHERE feed_id = %s",
                (cursor, note, result.stored, feed["feed_id"]),
            )
    return FeedOutcome(feed["feed_id"], True, result.stored, len(errors))


def _writable_sites(conn: psycopg.Connection[Any], feed: dict[str, Any]) -> set[str]:
    """A feed configured for a node writes only that node's sites (a site feeds itself); a feed
    without one is a national feed and may write any site."""
    if not feed.get("site_id"):
        return known_sites(conn)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT node_id FROM org_node WHERE level = 'site' AND %s = ANY (path)",
            (feed["site_id"],),
        )
        return {row[0] for row in cur.fetchall()}


def _latest(events: list[Any]) -> str | None:
    return max(e.occurred_at for e in events).isoformat() if events else None


def backoff(interval_s: int, failures: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter, at least the server's Retry-After, at most 1 h."""
    ceiling = min(interval_s * 2 ** min(failures, 16), MAX_BACKOFF.total_seconds())
    delay = random.uniform(interval_s, max(ceiling, interval_s))
    return max(delay, retry_after or 0.0)


def _record_failure(
    engine: Engine, feed: dict[str, Any], error: str, retry_after: float | None
) -> None:
    delay = backoff(feed["interval_s"], feed["consecutive_failures"] + 1, retry_after)
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE station_feed SET consecutive_failures = consecutive_failures + 1,"
                " last_error = :e, next_poll_at = now() + make_interval(secs => :d)"
                " WHERE feed_id = :f"
            ),
            {"e": redact(error), "d": delay, "f": feed["feed_id"]},
        )
