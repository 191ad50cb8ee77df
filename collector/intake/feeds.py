"""Poll pull feeds with requests; writes the feed table given (station_feed, declaration_feed).

The items go through the kind's store function (collector.intake.contract), which writes them.

A feed answers GET <url>?<cursor_param>=<cursor> with a JSON array of items, or an object
{"events": [...], "next_cursor": "..."}. Due feeds are leased (compare-and-set on next_poll_at)
so replicas poll each once. Valid items and the new cursor are committed together, so a crash
never skips items; a failing feed records its error and backs off on its own (exponential with
full jitter, at least Retry-After) and never delays the others. A feed configured for a node
(its site_id) writes only that node's sites.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Generic

import psycopg
import requests
from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

from collector.events import FieldError, TimePolicy
from collector.intake.contract import Context, ItemKind, RowT, item_errors
from collector.store import known_sites
from quaywatch.db import raw_connection
from quaywatch.log import redact
from quaywatch.settings import Settings

MAX_BACKOFF = timedelta(hours=1)
LEASE = timedelta(minutes=5)
_NAME = re.compile(r"[a-z_]+")


@dataclass(frozen=True)
class FeedConfig:
    """A feed as added on the command line: one field per configured column of its table."""

    feed_id: str
    url: str
    site_id: str | None = None  # the node whose sites it writes; None: a national feed
    auth_header: str | None = None
    auth_secret: str | None = None
    cursor_param: str = "since"
    interval_s: int = 60


@dataclass(frozen=True)
class FeedTable(Generic[RowT]):
    """A feed table (the columns of station_feed in sql/0101, site_id optional) and the kind
    of item its feeds carry."""

    name: str
    total_column: str  # the running count of new items stored
    items: ItemKind[RowT]
    note: Callable[[list[FieldError]], str | None]  # last_error after a good poll
    workers: int = 4  # feeds polled at once
    has_site_id: bool = True  # False: the table holds national feeds only

    def __post_init__(self) -> None:
        # Both names are written into SQL: allow plain identifiers only.
        if not (_NAME.fullmatch(self.name) and _NAME.fullmatch(self.total_column)):
            raise ValueError(f"not a table and column name: {self.name}.{self.total_column}")

    def upsert(self, conn: Connection, feed: FeedConfig) -> None:
        """Add a feed, or update it from `feed`'s fields (one per column) and make it due now."""
        values = asdict(feed)
        if not self.has_site_id and values.pop("site_id") is not None:
            raise ValueError(f"{self.name} holds national feeds only, not one for a site")
        columns = list(values)
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != "feed_id")
        conn.execute(
            text(
                f"INSERT INTO {self.name} ({', '.join(columns)})"
                f" VALUES ({', '.join(':' + c for c in columns)})"
                f" ON CONFLICT (feed_id) DO UPDATE SET {updates}, next_poll_at = now()"
            ),
            values,
        )

    def poll_due(
        self, engine: Engine, settings: Settings, workers: int | None = None
    ) -> list[FeedOutcome]:
        """Poll every due feed once, `workers` (else the table's) at a time."""
        feeds = _claim_due(engine, self)
        if not feeds:
            return []
        with ThreadPoolExecutor(max_workers=min(workers or self.workers, len(feeds))) as pool:
            return list(pool.map(lambda feed: poll_one(engine, settings, self, feed), feeds))


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


def log_failures(
    logger: logging.Logger, label: str, outcomes: list[FeedOutcome]
) -> list[FeedOutcome]:
    """Warn '<label> <feed_id>: failed: <error>' on `logger` for each failed poll; return all."""
    for outcome in outcomes:
        if not outcome.ok:
            logger.warning("%s %s", label, outcome.describe())
    return outcomes


class FeedError(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def rejection_note(label: str, errors: list[FieldError]) -> str | None:
    """'N <label>, first: field: reason' for the first error given, or None without errors."""
    if not errors:
        return None
    return f"{len(errors)} {label}, first: {errors[0].field}: {errors[0].reason}"


def _claim_due(engine: Engine, table: FeedTable[Any]) -> list[dict[str, Any]]:
    """Lease the due feeds (compare-and-set on next_poll_at) so replicas poll each once."""
    with engine.begin() as conn:
        rows = conn.execute(
            text(
                f"UPDATE {table.name} f SET next_poll_at = now() + :lease,"
                f" last_polled_at = now() WHERE feed_id IN (SELECT feed_id FROM {table.name}"
                " WHERE enabled AND next_poll_at <= now() FOR UPDATE SKIP LOCKED) RETURNING f.*"
            ),
            {"lease": LEASE},
        )
        return [dict(row) for row in rows.mappings()]


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
    """GET one page; raise FeedError on a timeout, an error status or a body that is not items."""
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


def poll_one(
    engine: Engine, settings: Settings, table: FeedTable[Any], feed: dict[str, Any]
) -> FeedOutcome:
    try:
        items, next_cursor = fetch(feed, settings.feed_timeout_s)
    except FeedError as exc:
        _record_failure(engine, table, feed, str(exc), exc.retry_after)
        return FeedOutcome(feed["feed_id"], False, error=str(exc))
    policy = TimePolicy(timedelta(seconds=settings.max_clock_skew_s), settings.naive_timezone)
    received = datetime.now(UTC)
    parse = table.items.load_parser(engine)
    with raw_connection(engine) as conn:
        parsed = parse(items, Context(policy, writable_sites(conn, feed), received, "pull"))
        rows = parsed.values()
        stored = table.items.store(conn, rows)
        errors = item_errors(parsed, stored)
        latest = max(map(table.items.stamp, rows)).isoformat() if rows else None
        with conn.cursor() as cur:
            cur.execute(
                f"UPDATE {table.name} SET cursor = %s, last_ok_at = now(), last_error = %s,"
                f" consecutive_failures = 0, {table.total_column} = {table.total_column} + %s,"
                " next_poll_at = now() + make_interval(secs => interval_s) WHERE feed_id = %s",
                (
                    next_cursor or latest or feed["cursor"],
                    table.note(errors),
                    stored.new,
                    feed["feed_id"],
                ),
            )
    return FeedOutcome(feed["feed_id"], True, stored.new + stored.amended, len(errors))


def writable_sites(conn: psycopg.Connection[Any], feed: dict[str, Any]) -> set[str]:
    """A feed configured for a node writes only that node's sites (a site feeds itself); a feed
    without one (or a table without site_id) is a national feed and may write any site."""
    if not feed.get("site_id"):
        return known_sites(conn)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT node_id FROM org_node WHERE level = 'site' AND %s = ANY (path)",
            (feed["site_id"],),
        )
        return {row[0] for row in cur.fetchall()}


def backoff(interval_s: int, failures: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter, at least the server's Retry-After, at most 1 h."""
    ceiling = min(interval_s * 2 ** min(failures, 16), MAX_BACKOFF.total_seconds())
    delay = random.uniform(interval_s, max(ceiling, interval_s))
    return max(delay, retry_after or 0.0)


def _record_failure(
    engine: Engine,
    table: FeedTable[Any],
    feed: dict[str, Any],
    error: str,
    retry_after: float | None,
) -> None:
    delay = backoff(feed["interval_s"], feed["consecutive_failures"] + 1, retry_after)
    with engine.begin() as conn:
        conn.execute(
            text(
                f"UPDATE {table.name} SET consecutive_failures = consecutive_failures + 1,"
                " last_error = :e, next_poll_at = now() + make_interval(secs => :d)"
                " WHERE feed_id = :f"
            ),
            {"e": redact(error), "d": delay, "f": feed["feed_id"]},
        )
