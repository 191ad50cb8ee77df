"""The parser/store pair each kind of item gives the feed poller and file importer; no tables.

A kind (cargo events, declarations) is an ItemKind:
- `load_parser(engine)` loads once what validation needs (the fx rates, say) and returns the
  parser: `parse(items, context) -> Parsed`, the valid rows (each with its item's index) and a
  FieldError (index, field, reason) for every other item;
- `store(conn, rows) -> Stored` writes the rows inside the caller's transaction and says how many
  were new, amended or re-sent, with a FieldError for each row it turned down (its index is the
  row's position in `rows`);
- `stamp(row)` is the row's business time: a feed that sends no next_cursor resumes from the
  latest one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import psycopg
from sqlalchemy import Engine

from collector.events import FieldError, TimePolicy

RowT = TypeVar("RowT")


@dataclass(frozen=True)
class Context:
    """What one batch of items is judged by and stamped with."""

    policy: TimePolicy
    sites: set[str]  # the sites the batch may write
    received: datetime  # "now" for the time checks, and every row's received_at
    source: str  # "pull" or "file", stored on every row


@dataclass(frozen=True)
class Parsed(Generic[RowT]):
    """The valid items as rows, each with its item's index, and an error for every other item."""

    rows: list[tuple[int, RowT]]
    errors: list[FieldError]

    def values(self) -> list[RowT]:
        return [row for _, row in self.rows]


@dataclass(frozen=True)
class Stored:
    """What the store made of a batch: new rows, amendments of stored ones, re-sends, refusals."""

    new: int
    amended: int = 0
    duplicates: int = 0
    refused: tuple[FieldError, ...] = ()  # each at its row's position in the rows given


Parser = Callable[[Sequence[Any], Context], Parsed[RowT]]


@dataclass(frozen=True)
class ItemKind(Generic[RowT]):
    """One kind of item: how to parse it, how to store it, and its business time."""

    load_parser: Callable[[Engine], Parser[RowT]]
    store: Callable[[psycopg.Connection[Any], Sequence[RowT]], Stored]
    stamp: Callable[[RowT], datetime]


def item_errors(parsed: Parsed[Any], stored: Stored) -> list[FieldError]:
    """The parse errors, then the store's refusals, each at its item's index."""
    return parsed.errors + [
        FieldError(parsed.rows[r.index][0], r.field, r.reason, r.event_id) for r in stored.refused
    ]
