"""The only writer of the collector's tables: cargo events, lot state, feed cursors.

`save_events` is the one ingest path for push, pull, file import and the simulator: binary COPY
into a temporary staging table, an insert of the new events (duplicates are skipped by their
identity), then one statement that folds exactly those into lot state. Everything happens in the
caller's transaction, so a batch is stored whole or not at all.

Most batches hold only new events, so the insert is first tried without conflict handling (as
fast as the data can be written); only a batch that re-sends stored events takes the slower path
that removes them from the stage first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from collector.events import EVENT_COLUMNS, EventRow

_COPY_TYPES = [
    "text",
    "timestamptz",
    "timestamptz",
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
    "float4",
    "text",
]

_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS stage_cargo_event
    (LIKE cargo_event INCLUDING DEFAULTS) ON COMMIT DELETE ROWS
"""

# Each lot column merges commutatively (min, max, or last-writer-wins on (time, event id)), so
# applying the same events in any order, in any batches, gives the same row.
_INSERT_NEW = "INSERT INTO cargo_event ({cols}) SELECT {cols} FROM stage_cargo_event"
_DROP_STORED = """
DELETE FROM stage_cargo_event s USING cargo_event e
WHERE e.event_id = s.event_id AND e.occurred_at = s.occurred_at
"""
_FOLD = """
WITH inserted AS (SELECT * FROM stage_cargo_event), latest AS (
    SELECT DISTINCT ON (lot_id) lot_id, site_id, occurred_at AS site_at, event_id AS site_event_id
    FROM inserted ORDER BY lot_id, occurred_at DESC, event_id DESC
), latest_attrs AS (
    SELECT DISTINCT ON (lot_id) lot_id, direction, hazard_class, un_number, packing_group, teu,
           occurred_at AS attrs_at, event_id AS attrs_event_id
    FROM inserted
    WHERE direction IS NOT NULL OR hazard_class IS NOT NULL OR teu IS NOT NULL
    ORDER BY lot_id, occurred_at DESC, event_id DESC
), folded AS (
    SELECT lot_id,
           min(occurred_at) FILTER (WHERE kind = 'arrived') AS arrived_at,
           min(occurred_at) FILTER (WHERE kind = 'declared') AS declared_at,
           min(occurred_at) FILTER (WHERE kind = 'inspection_started') AS inspection_started_at,
           max(occurred_at) FILTER (WHERE kind = 'inspection_finished') AS inspection_finished_at,
           min(occurred_at) FILTER (WHERE kind = 'released') AS released_at,
           min(occurred_at) FILTER (WHERE kind = 'removed') AS removed_at,
           max(occurred_at) FILTER (WHERE kind = 'held') AS held_at,
           max(occurred_at) FILTER (WHERE kind = 'hold_lifted') AS hold_lifted_at,
           count(*) AS n
    FROM inserted GROUP BY lot_id
), upserted AS (
    INSERT INTO lot AS l (lot_id, site_id, site_at, site_event_id, direction, hazard_class,
        un_number, packing_group, teu, attrs_at, attrs_event_id, arrived_at, declared_at,
        inspection_started_at, inspection_finished_at, released_at, removed_at, held_at,
        hold_lifted_at, event_count)
    SELECT f.lot_id, s.site_id, s.site_at, s.site_event_id, a.direction, a.hazard_class,
           a.un_number, a.packing_group, a.teu, a.attrs_at, a.attrs_event_id, f.arrived_at,
           f.declared_at, f.inspection_started_at, f.inspection_finished_at, f.released_at,
           f.removed_at, f.held_at, f.hold_lifted_at, f.n
    FROM folded f JOIN latest s USING (lot_id) LEFT JOIN latest_attrs a USING (lot_id)
    ON CONFLICT (lot_id) DO UPDATE SET
        site_id = CASE WHEN (EXCLUDED.site_at, EXCLUDED.site_event_id) > (l.site_at, l.site_event_id)
                       THEN EXCLUDED.site_id ELSE l.site_id END,
        site_at = GREATEST(l.site_at, EXCLUDED.site_at),
        site_event_id = CASE WHEN (EXCLUDED.site_at, EXCLUDED.site_event_id) > (l.site_at, l.site_event_id)
                       THEN EXCLUDED.site_event_id ELSE l.site_event_id END,
        direction = CASE WHEN {newer_attrs} THEN EXCLUDED.direction ELSE l.direction END,
        hazard_class = CASE WHEN {newer_attrs} THEN EXCLUDED.hazard_class ELSE l.hazard_class END,
        un_number = CASE WHEN {newer_attrs} THEN EXCLUDED.un_number ELSE l.un_number END,
        packing_group = CASE WHEN {newer_attrs} THEN EXCLUDED.packing_group ELSE l.packing_group END,
        teu = CASE WHEN {newer_attrs} THEN EXCLUDED.teu ELSE l.teu END,
        attrs_event_id = CASE WHEN {newer_attrs} THEN EXCLUDED.attrs_event_id ELSE l.attrs_event_id END,
        attrs_at = CASE WHEN {newer_attrs} THEN EXCLUDED.attrs_at ELSE l.attrs_at END,
        arrived_at = LEAST(l.arrived_at, EXCLUDED.arrived_at),
        declared_at = LEAST(l.declared_at, EXCLUDED.declared_at),
        inspection_started_at = LEAST(l.inspection_started_at, EXCLUDED.inspection_started_at),
        inspection_finished_at = GREATEST(l.inspection_finished_at, EXCLUDED.inspection_finished_at),
        released_at = LEAST(l.released_at, EXCLUDED.released_at),
        removed_at = LEAST(l.removed_at, EXCLUDED.removed_at),
        held_at = GREATEST(l.held_at, EXCLUDED.held_at),
        hold_lifted_at = GREATEST(l.hold_lifted_at, EXCLUDED.hold_lifted_at),
        event_count = l.event_count + EXCLUDED.event_count,
        updated_at = now()
    RETURNING 1
)
SELECT count(*) FROM upserted
"""
# A NULL attrs_at on the stored side loses to any stated attributes.
_NEWER_ATTRS = (
    "(EXCLUDED.attrs_at IS NOT NULL AND (l.attrs_at IS NULL OR "
    "(EXCLUDED.attrs_at, EXCLUDED.attrs_event_id) > (l.attrs_at, l.attrs_event_id)))"
)
INSERT_NEW = _INSERT_NEW.format(cols=", ".join(EVENT_COLUMNS))
FOLD = _FOLD.format(newer_attrs=_NEWER_ATTRS)


@dataclass(frozen=True)
class SaveResult:
    """How many events of a batch were new, and how many lots they touched."""

    received: int
    stored: int
    lots: int

    @property
    def duplicates(self) -> int:
        return self.received - self.stored


def save_events(conn: psycopg.Connection[Any], rows: Sequence[EventRow]) -> SaveResult:
    """Store events and fold them into lot state inside the caller's transaction."""
    if not rows:
        return SaveResult(0, 0, 0)
    # A batch may carry the same event twice; keep one so the fast insert can succeed.
    unique = list({(row[0], row[1]): row for row in rows}.values())
    with conn.cursor() as cur:
        cur.execute(_STAGE)
        cur.execute("TRUNCATE stage_cargo_event")
        with cur.copy(
            f"COPY stage_cargo_event ({', '.join(EVENT_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(_COPY_TYPES)
            for row in unique:
                copy.write_row(row)
        stored = _insert_new(conn, cur, len(unique))
        cur.execute(FOLD)
        lots = (cur.fetchone() or (0,))[0]
    return SaveResult(len(rows), stored, int(lots))


def _insert_new(conn: psycopg.Connection[Any], cur: psycopg.Cursor[Any], staged: int) -> int:
    try:
        with conn.transaction():  # a savepoint: only this insert is undone on a conflict
            cur.execute(INSERT_NEW)
        return staged
    except psycopg.errors.UniqueViolation:
        pass
    cur.execute(_DROP_STORED)
    # A concurrent writer may still store one of these first: skip it rather than fail.
    cur.execute(INSERT_NEW + " ON CONFLICT (event_id, occurred_at) DO NOTHING")
    return max(cur.rowcount, 0)


def known_sites(conn: psycopg.Connection[Any]) -> set[str]:
    with conn.cursor() as cur:
        cur.execute("SELECT node_id FROM org_node WHERE level = 'site'")
        return {row[0] for row in cur.fetchall()}
