"""Declarations from feeds and files: writes declaration_feed; declaration and risk_* via store.

The declaration kind for the feed poller and the file importer (collector.intake): items are
validated by collector.risk.declarations (value_cny from fx_rate when not stated) and stored,
screened and marked in the same transaction by collector.risk.store.save_declarations, so a
feed's cursor commits with the screening of what it brought.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import Engine

from collector.events import FieldError
from collector.intake import feeds, files
from collector.intake.contract import Context, ItemKind, Parsed, Parser, Stored
from collector.risk.declarations import DeclarationRow, load_rates, parse_indexed
from collector.risk.store import save_declarations


def _load_parser(engine: Engine) -> Parser[DeclarationRow]:
    """The parser, with the fx rates as they are now (once per import, once per feed poll)."""
    with engine.connect() as conn:
        rates = load_rates(conn)

    def parse(items: Sequence[Any], context: Context) -> Parsed[DeclarationRow]:
        valid, errors = parse_indexed(items, context.policy, rates, context.sites, context.received)
        rows = [(i, d.as_row(context.source, context.received)) for i, d in valid]
        return Parsed(rows, errors)

    return parse


def _store(conn: psycopg.Connection[Any], rows: Sequence[DeclarationRow]) -> Stored:
    result = save_declarations(conn, rows)
    refused = tuple(
        FieldError(r.position, r.field, r.reason, r.declaration_id) for r in result.rejected
    )
    return Stored(result.stored, result.amended, result.duplicates, refused)


def _declared_at(row: DeclarationRow) -> datetime:
    declared_at: datetime = row[1]
    return declared_at


def _note(errors: list[FieldError]) -> str | None:
    # As declaration feeds always reported: the error of the earliest item, whether the parser
    # or the store found it (station feeds name the first parse error instead).
    return feeds.rejection_note("rejected", sorted(errors, key=lambda e: e.index))


DECLARATIONS = ItemKind(_load_parser, _store, _declared_at)
# One feed at a time, as before: declaration feeds are few.
DECLARATION_FEED = feeds.FeedTable(
    "declaration_feed", "declarations_total", DECLARATIONS, _note, workers=1, has_site_id=False
)

# The entry points the CLI, the scheduler and the tests use.
# Declaration feeds are national (declaration_feed has no site_id): a FeedConfig without one.
DeclarationFeed = feeds.FeedConfig
upsert_feed = DECLARATION_FEED.upsert  # with a DeclarationFeed
poll_due = DECLARATION_FEED.poll_due
import_declarations = files.FileImporter(DECLARATIONS)
