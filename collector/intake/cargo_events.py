"""Cargo events from station feeds and files: writes station_feed; cargo_event and lot via store.

The cargo-event kind for the feed poller and the file importer: items are validated by
collector.events and stored (and folded into lot state) by collector.store.save_events. A
re-sent event with other content is refused as a conflict of its item.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import Engine

from collector.events import CONFLICT_REASON, EventRow, FieldError, parse_items
from collector.intake import feeds, files
from collector.intake.contract import Context, ItemKind, Parsed, Parser, Stored
from collector.store import save_events


def _parse(items: Sequence[Any], context: Context) -> Parsed[EventRow]:
    valid, errors = parse_items(items, context.policy, context.sites, now=context.received)
    rows = [(i, event.as_row(context.source, context.received)) for i, event in valid]
    return Parsed(rows, errors)


def _load_parser(engine: Engine) -> Parser[EventRow]:
    return _parse  # cargo events need nothing from the database to be validated


def _store(conn: psycopg.Connection[Any], rows: Sequence[EventRow]) -> Stored:
    result = save_events(conn, rows)
    refused = tuple(
        FieldError(p, "event_id", CONFLICT_REASON, rows[p][0]) for p in result.conflicts
    )
    return Stored(result.stored, duplicates=result.duplicates, refused=refused)


def _occurred_at(row: EventRow) -> datetime:
    return row[1]


def _note(errors: list[FieldError]) -> str | None:
    # As station feeds always reported: the first error in the order found (every parse error
    # before the store's conflicts), not the earliest item's as declaration feeds do.
    return feeds.rejection_note("events rejected", errors)


CARGO_EVENTS = ItemKind(_load_parser, _store, _occurred_at)
STATION_FEED = feeds.FeedTable("station_feed", "events_total", CARGO_EVENTS, _note, workers=4)

# The entry points the CLI, the scheduler and the tests use.
upsert_feed = STATION_FEED.upsert  # with a feeds.FeedConfig
poll_due = STATION_FEED.poll_due
import_file = files.FileImporter(CARGO_EVENTS)
