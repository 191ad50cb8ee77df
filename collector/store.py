"""The only writer of cargo_event: the collector's one ingest path, stored and then folded.

`save_events` is the one ingest path for push, pull, file import and the simulator. In the
caller's transaction, so a batch is stored whole or not at all:

1. Identity. An event is identified by (site, event id, time). The first copy received counts;
   a later identical copy is a duplicate, a later copy with other content is a conflict and is
   rejected. Copies inside one batch are judged exactly as copies in separate batches, so what
   is stored never depends on how the sender batched.
2. Insert. Binary COPY into a temporary stage, then an insert of the new events. Most batches
   hold only new events, so the insert is first tried without conflict handling (as fast as
   the data can be written); a batch that re-sends stored events takes the slower path that
   sorts those into duplicates and conflicts first.
3. Fold. Exactly the events this transaction inserted fold into lot state (collector.lot_store,
   by the rules of lot_fold.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from collector.events import EVENT_COLUMNS, EventRow
from collector.lot_store import fold_staged

# Each EventRow column's type for the binary COPY. Looked up by name (the columns and their
# order are collector.events.EVENT_COLUMNS), so a column added there without a type here fails
# on import instead of shifting the types of the columns after it.
_COLUMN_TYPES = {
    "event_id": "text",
    "occurred_at": "timestamptz",
    "received_at": "timestamptz",
    "site_id": "text",
    "lot_id": "text",
    "kind": "text",
    "direction": "text",
    "hazard_class": "text",
    "un_number": "text",
    "packing_group": "text",
    "teu": "float4",
    "source": "text",
}
_COPY_TYPES = [_COLUMN_TYPES[c] for c in EVENT_COLUMNS]
_COLUMNS = ", ".join(EVENT_COLUMNS)
# Positions in an EventRow of what must agree for a re-send to be the same event (not when or by
# which path it was received); identity is (site_id, event_id, occurred_at): 3, 0, 1.
_CONTENT = (4, 5, 6, 7, 8, 9, 10)
_CONTENT_COLUMNS = "kind, lot_id, direction, hazard_class, un_number, packing_group, teu"

_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS stage_event
    (LIKE cargo_event INCLUDING DEFAULTS, position int NOT NULL,
     inserted boolean NOT NULL DEFAULT false, visit_no int NOT NULL DEFAULT 1)
    ON COMMIT DELETE ROWS
"""
_INSERT_NEW = f"INSERT INTO cargo_event ({_COLUMNS}) SELECT {_COLUMNS} FROM stage_event"
_INSERT_REST = (
    _INSERT_NEW
    + " WHERE NOT inserted ON CONFLICT (site_id, event_id, occurred_at) DO NOTHING"
    + " RETURNING site_id, event_id, occurred_at"
)
# The batch's time range as constants, so only the chunks that can hold its events are searched.
_MATCH_STORED = f"""
SELECT s.position, ({", ".join("s." + c for c in _CONTENT_COLUMNS.split(", "))})
       IS NOT DISTINCT FROM ({", ".join("e." + c for c in _CONTENT_COLUMNS.split(", "))})
FROM stage_event s JOIN cargo_event e
  ON e.site_id = s.site_id AND e.event_id = s.event_id AND e.occurred_at = s.occurred_at
WHERE NOT s.inserted AND e.occurred_at >= %(lo)s AND e.occurred_at <= %(hi)s
"""


@dataclass(frozen=True)
class SaveResult:
    """What became of a batch: events new and stored, lots touched, re-sent copies of stored
    events (duplicates), and the positions of rows rejected as conflicts."""

    received: int
    stored: int
    lots: int
    duplicates: int = 0
    conflicts: tuple[int, ...] = ()


def save_events(conn: psycopg.Connection[Any], rows: Sequence[EventRow]) -> SaveResult:
    """Store events and fold them into lot state inside the caller's transaction."""
    if not rows:
        return SaveResult(0, 0, 0)
    staged, duplicates, conflicts = _first_copies(rows)
    with conn.cursor() as cur:
        cur.execute(_STAGE)
        cur.execute("DELETE FROM stage_event")  # empty unless called twice in one transaction
        with cur.copy(
            f"COPY stage_event ({_COLUMNS}, position) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types([*_COPY_TYPES, "int4"])
            for position in staged:
                copy.write_row((*rows[position], position))
        inserted, resent, conflicted = _insert_new(conn, cur, rows, staged)
        lots = fold_staged(conn, cur, [rows[position] for position in inserted])
    return SaveResult(
        len(rows),
        len(inserted),
        lots,
        duplicates + resent,
        tuple(sorted(conflicts + conflicted)),
    )


def _first_copies(rows: Sequence[EventRow]) -> tuple[list[int], int, list[int]]:
    """Positions of each identity's first copy, the count of identical later copies, and the
    positions of later copies that differ (conflicts)."""
    first: dict[tuple[Any, ...], int] = {}
    for position, row in enumerate(rows):
        first.setdefault((row[3], row[0], row[1]), position)
    if len(first) == len(rows):  # the usual batch: every event once
        return list(range(len(rows))), 0, []
    duplicates = 0
    conflicts: list[int] = []
    for position, row in enumerate(rows):
        seen = first[(row[3], row[0], row[1])]
        if seen == position:
            continue
        if all(rows[seen][i] == row[i] for i in _CONTENT):
            duplicates += 1
        else:
            conflicts.append(position)
    return list(first.values()), duplicates, conflicts


def _insert_new(
    conn: psycopg.Connection[Any],
    cur: psycopg.Cursor[Any],
    rows: Sequence[EventRow],
    staged: list[int],
) -> tuple[list[int], int, list[int]]:
    """Insert the staged events; return (positions inserted, duplicates, conflicts)."""
    try:
        with conn.transaction():  # a savepoint: only this insert is undone on a conflict
            cur.execute(_INSERT_NEW)
        return staged, 0, []
    except psycopg.errors.UniqueViolation:
        pass
    times = [rows[position][1] for position in staged]
    bounds = {"lo": min(times), "hi": max(times)}
    inserted: list[int] = []
    duplicates = 0
    conflicts: list[int] = []
    remaining = len(staged)
    position_of = {(rows[p][3], rows[p][0], rows[p][1]): p for p in staged}
    # A concurrent writer may store some of these between the look-up and the insert: the
    # insert then skips them, and the next round judges them against what it stored.
    while remaining:
        cur.execute(_MATCH_STORED, bounds)
        matched = cur.fetchall()
        for position, same in matched:
            if same:
                duplicates += 1
            else:
                conflicts.append(position)
        if matched:
            cur.execute(
                "DELETE FROM stage_event WHERE position = ANY(%s)", ([m[0] for m in matched],)
            )
        cur.execute(_INSERT_REST)
        done = [position_of[tuple(row)] for row in cur.fetchall()]
        inserted += done
        remaining -= len(matched) + len(done)
        if done:
            cur.execute("UPDATE stage_event SET inserted = true WHERE position = ANY(%s)", (done,))
    return sorted(inserted), duplicates, conflicts


def known_sites(conn: psycopg.Connection[Any]) -> set[str]:
    with conn.cursor() as cur:
        cur.execute("SELECT node_id FROM org_node WHERE level = 'site'")
        return {row[0] for row in cur.fetchall()}
