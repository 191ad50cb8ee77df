"""The only writer of lot: folds the events just stored into lot state, and refolds a site.

Called by collector.store.save_events in its transaction, after the insert into cargo_event:
the temporary stage_event then holds exactly the events this transaction inserted. Their
increments merge into the stored visits in one upsert, and a lot whose visits the batch
re-divides is refolded from all its stored events. Writers of the same site take turns for
this step (a transaction-scoped advisory lock per site), so under any number of concurrent
writers every lot equals the fold of its stored events (collector.lot_fold).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import psycopg

from collector.events import EVENT_COLUMNS, EventRow
from collector.lot_fold import (
    ATTRIBUTES,
    FIRST_TIMES,
    LAST_TIMES,
    STAGE_TIMES,
    Key,
    Stamp,
    Visit,
    fold,
)

_COLUMNS = ", ".join(EVENT_COLUMNS)
# 1903: this lock's namespace (its first key), so it never meets another advisory lock.
_LOCK_SITES = """
SELECT pg_advisory_xact_lock(1903, hashtext(site))
FROM unnest(%(sites)s::text[]) AS site ORDER BY hashtext(site)
"""
# A lot's events all lie between its first and last event; NULL bounds (lots folded before
# visits were tracked) mean "not known", so all of its events are read.
_KEY_EVENTS = f"""
SELECT {", ".join("e." + c for c in EVENT_COLUMNS)}
FROM unnest(%(sites)s::text[], %(lots)s::text[], %(lo)s::timestamptz[], %(hi)s::timestamptz[])
     AS k(site_id, lot_id, lo, hi)
JOIN cargo_event e ON e.site_id = k.site_id AND e.lot_id = k.lot_id
 AND e.occurred_at >= coalesce(k.lo, '-infinity') AND e.occurred_at <= coalesce(k.hi, 'infinity')
"""
_DROP_VISITS = """
DELETE FROM lot l USING unnest(%(sites)s::text[], %(lots)s::text[]) AS k(site_id, lot_id)
WHERE l.site_id = k.site_id AND l.lot_id = k.lot_id
"""

# A stamp is the position of an event in its lot's history: (time, event id). Each stamped
# field of a visit is two columns, <name>_at and <name>_event (event ids compare byte by byte).
_STAMPED = ("opened", "last_opening", "first_removal", *ATTRIBUTES)
_STAGE_LOT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("site_id", "text"),
    ("lot_id", "text"),
    ("visit_no", "int4"),
    *(
        (f"{name}_{part}", kind)
        for name in _STAMPED
        for part, kind in (("at", "timestamptz"), ("event", "text"))
    ),
    ("first_event_at", "timestamptz"),
    ("last_event_at", "timestamptz"),
    ("direction", "text"),
    ("hazard_class", "text"),
    ("un_number", "text"),
    ("packing_group", "text"),
    ("teu", "float4"),
    *((column, "timestamptz") for column in STAGE_TIMES),
    ("event_count", "int4"),
)
_SQL_TYPES = {"float4": "real", "int4": "int", "text": 'text COLLATE "C"'}
_STAGE_LOT = (
    "CREATE TEMP TABLE IF NOT EXISTS stage_lot ("
    + ", ".join(f"{name} {_SQL_TYPES.get(kind, kind)}" for name, kind in _STAGE_LOT_COLUMNS)
    + ") ON COMMIT DELETE ROWS"
)
_LOT_COLUMNS = ", ".join(name for name, _ in _STAGE_LOT_COLUMNS)


def _stamp(table: str, name: str) -> str:
    return f"({table}.{name}_at, {table}.{name}_event)"


def _newer(name: str) -> str:
    """SQL: the batch states `name` later than the stored visit does."""
    return (
        f"(EXCLUDED.{name}_at IS NOT NULL AND (l.{name}_at IS NULL"
        f" OR {_stamp('EXCLUDED', name)} > {_stamp('l', name)}))"
    )


def _earlier(name: str) -> str:
    return (
        f"(EXCLUDED.{name}_at IS NOT NULL AND (l.{name}_at IS NULL"
        f" OR {_stamp('EXCLUDED', name)} < {_stamp('l', name)}))"
    )


def _take(columns: tuple[str, ...], when: str) -> list[str]:
    return [f"{c} = CASE WHEN {when} THEN EXCLUDED.{c} ELSE l.{c} END" for c in columns]


# Each column merges the way lot_fold.Visit.add does; a visit's beginning (`opened`) never
# changes here, because a batch that would move it refolds the lot instead.
_MERGE_SET = ",\n    ".join(
    [
        *_take(("last_opening_at", "last_opening_event"), _newer("last_opening")),
        *_take(("first_removal_at", "first_removal_event"), _earlier("first_removal")),
        "first_event_at = LEAST(l.first_event_at, EXCLUDED.first_event_at)",
        "last_event_at = GREATEST(l.last_event_at, EXCLUDED.last_event_at)",
        *(x for a in ATTRIBUTES for x in _take((a, f"{a}_at", f"{a}_event"), _newer(a))),
        *(f"{c} = LEAST(l.{c}, EXCLUDED.{c})" for c in FIRST_TIMES.values()),
        *(f"{c} = GREATEST(l.{c}, EXCLUDED.{c})" for c in LAST_TIMES.values()),
        "event_count = l.event_count + EXCLUDED.event_count",
        "updated_at = now()",
    ]
)
_MERGE = f"""
INSERT INTO lot AS l ({_LOT_COLUMNS})
SELECT {_LOT_COLUMNS} FROM stage_lot
ON CONFLICT (site_id, lot_id, visit_no) DO UPDATE SET
    {_MERGE_SET}
"""
# Ties in time are broken by event id byte by byte, as collector.lot_fold does.
_ID = 'event_id COLLATE "C"'
# A visit after the first begins at its opening event (`opened`); an event belongs to the latest
# visit begun at or before it. Most lots have one visit, and a partial index holds the others.
_ASSIGN_VISITS = f"""
UPDATE stage_event s SET visit_no = v.visit_no
FROM (
    SELECT DISTINCT ON (e.position) e.position, l.visit_no
    FROM stage_event e
    JOIN lot l ON l.site_id = e.site_id AND l.lot_id = e.lot_id AND l.visit_no > 1
    WHERE (l.opened_at, l.opened_event) <= (e.occurred_at, e.{_ID})
    ORDER BY e.position, l.visit_no DESC
) v
WHERE s.position = v.position
"""
_OPENING = "kind IN ('arrived', 'declared')"
# Per (lot, visit) of the batch, the latest event stating each field, in one hash aggregation
# (no sort): an event's stamp as text sorts as (time, event id) does, because the time comes
# first as its fixed-width big-endian microseconds since 2000 (accepted times are later than
# 2000-01-01) and ids compare byte by byte. The field's value rides behind the stamp after a
# unit separator, which no accepted id or value contains. Where a field is stated at one
# time by one event (almost always) the text is only built for that event.
_SEP = "chr(31)"
_PICKS = ",\n    ".join(
    [
        f"max(occurred_at) FILTER (WHERE {_OPENING}) AS last_opening_at",
        f"max(stamp) FILTER (WHERE {_OPENING}) AS last_opening_pick",
        "min(occurred_at) FILTER (WHERE kind = 'removed') AS first_removal_at",
        "min(stamp) FILTER (WHERE kind = 'removed') AS first_removal_pick",
        *(
            x
            for a in ATTRIBUTES
            for x in (
                f"max(occurred_at) FILTER (WHERE {a} IS NOT NULL) AS {a}_at",
                f'max((stamp || {_SEP} || {a}::text) COLLATE "C") FILTER (WHERE {a} IS NOT NULL)'
                f" AS {a}_pick",
            )
        ),
        "min(occurred_at) AS first_event_at",
        "max(occurred_at) AS last_event_at",
        *(
            f"min(occurred_at) FILTER (WHERE kind = '{kind}') AS {column}"
            for kind, column in FIRST_TIMES.items()
        ),
        *(
            f"max(occurred_at) FILTER (WHERE kind = '{kind}') AS {column}"
            for kind, column in LAST_TIMES.items()
        ),
        "count(*)::int AS event_count",
    ]
)
_TYPES = {"teu": "real"}
_INCREMENT = ",\n    ".join(
    [
        "site_id",
        "lot_id",
        "visit_no",
        "NULL::timestamptz AS opened_at",
        'NULL::text COLLATE "C" AS opened_event',
        "last_opening_at",
        "substr(last_opening_pick, 17) AS last_opening_event",
        "first_removal_at",
        "substr(first_removal_pick, 17) AS first_removal_event",
        *(
            x
            for a in ATTRIBUTES
            for x in (
                f"{a}_at",
                f"split_part(substr({a}_pick, 17), {_SEP}, 1) AS {a}_event",
                f"split_part(substr({a}_pick, 17), {_SEP}, 2)::{_TYPES.get(a, 'text')} AS {a}",
            )
        ),
        "first_event_at",
        "last_event_at",
        *STAGE_TIMES,
        "event_count",
    ]
)
# Merge the batch's increments into their visits in one upsert, except where they would move
# where a visit begins (an opening after a removal within one visit) or the visit predates
# visit tracking: those lots come back, to be refolded from all their events.
_MERGE_BATCH = f"""
WITH stamped AS (
    SELECT site_id, lot_id, visit_no, occurred_at, kind, {", ".join(ATTRIBUTES)},
           (encode(timestamptz_send(occurred_at), 'hex') || event_id) COLLATE "C" AS stamp
    FROM stage_event
), picked AS (
    SELECT site_id, lot_id, visit_no, {_PICKS}
    FROM stamped GROUP BY site_id, lot_id, visit_no
), increments AS (
    SELECT {_INCREMENT} FROM picked
), merged AS (
    INSERT INTO lot AS l ({_LOT_COLUMNS})
    SELECT {_LOT_COLUMNS} FROM increments
    WHERE NOT coalesce({_stamp("increments", "last_opening")}
                       > {_stamp("increments", "first_removal")}, false)
    ON CONFLICT (site_id, lot_id, visit_no) DO UPDATE SET
        {_MERGE_SET}
    WHERE l.first_event_at IS NOT NULL
      AND NOT coalesce({_stamp("l", "last_opening")} > {_stamp("EXCLUDED", "first_removal")}, false)
      AND NOT coalesce({_stamp("EXCLUDED", "last_opening")} > {_stamp("l", "first_removal")}, false)
    RETURNING l.site_id, l.lot_id, l.visit_no
)
SELECT DISTINCT i.site_id, i.lot_id FROM increments i
WHERE NOT EXISTS (
    SELECT 1 FROM merged m
    WHERE m.site_id = i.site_id AND m.lot_id = i.lot_id AND m.visit_no = i.visit_no)
"""
# What a refold of these lots reads: the span of their stored visits and of the batch.
_REFOLD_SPAN = """
SELECT k.site_id, k.lot_id,
       bool_or(l.visit_no IS NOT NULL AND (l.first_event_at IS NULL OR l.last_event_at IS NULL)),
       least(min(l.first_event_at), (SELECT min(occurred_at) FROM stage_event s
                                     WHERE s.site_id = k.site_id AND s.lot_id = k.lot_id)),
       greatest(max(l.last_event_at), (SELECT max(occurred_at) FROM stage_event s
                                       WHERE s.site_id = k.site_id AND s.lot_id = k.lot_id))
FROM unnest(%(sites)s::text[], %(lots)s::text[]) AS k(site_id, lot_id)
LEFT JOIN lot l ON l.site_id = k.site_id AND l.lot_id = k.lot_id
GROUP BY k.site_id, k.lot_id
"""
# Retries of the fold after a deadlock between writers of overlapping sites.
_ATTEMPTS = 5


def fold_staged(
    conn: psycopg.Connection[Any], cur: psycopg.Cursor[Any], rows: list[EventRow]
) -> int:
    """Fold the newly stored events (the stage holds exactly those) into lot state; return how
    many lots (site and lot id) they touched."""
    if not rows:
        return 0
    keys = {(row[3], row[4]) for row in rows}
    for attempt in range(_ATTEMPTS):
        try:
            with conn.transaction():
                cur.execute(_LOCK_SITES, {"sites": sorted({site for site, _ in keys})})
                cur.execute(_ASSIGN_VISITS)
                cur.execute(_MERGE_BATCH)
                refold = [(row[0], row[1]) for row in cur.fetchall()]
                if refold:
                    _write_visits(cur, _refolded(cur, refold))
            return len(keys)
        except psycopg.errors.DeadlockDetected:
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _refolded(cur: psycopg.Cursor[Any], keys: list[Key]) -> list[Visit]:
    """Drop the lots' stored visits and fold them again from all their stored events (this
    transaction's included)."""
    cur.execute(_REFOLD_SPAN, _key_arrays(keys))
    spans = cur.fetchall()
    params = {
        "sites": [span[0] for span in spans],
        "lots": [span[1] for span in spans],
        # Visits folded before visit tracking have no known span: read all their events.
        "lo": [None if span[2] else span[3] for span in spans],
        "hi": [None if span[2] else span[4] for span in spans],
    }
    cur.execute(_KEY_EVENTS, params)
    events = cast(list[EventRow], cur.fetchall())
    cur.execute(_DROP_VISITS, params)
    return fold(events)


def _write_visits(cur: psycopg.Cursor[Any], visits: Iterable[Visit]) -> None:
    cur.execute(_STAGE_LOT)
    cur.execute("DELETE FROM stage_lot")
    names = ", ".join(name for name, _ in _STAGE_LOT_COLUMNS)
    with cur.copy(f"COPY stage_lot ({names}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types([kind for _, kind in _STAGE_LOT_COLUMNS])
        for visit in visits:
            copy.write_row(_visit_row(visit))
    cur.execute(_MERGE)


def _visit_row(visit: Visit) -> tuple[Any, ...]:
    stamps: list[Stamp | None] = [visit.opened, visit.last_opening, visit.first_removal]
    stamps += [visit.attributes[a][1] if a in visit.attributes else None for a in ATTRIBUTES]
    flat: list[Any] = []
    for stamp in stamps:
        flat += [None, None] if stamp is None else [stamp[0], stamp[1]]
    values = [visit.attributes[a][0] if a in visit.attributes else None for a in ATTRIBUTES]
    times = [visit.times.get(column) for column in STAGE_TIMES]
    return (
        visit.site_id,
        visit.lot_id,
        visit.visit_no,
        *flat,
        visit.first_event_at,
        visit.last_event_at,
        *values,
        *times,
        visit.event_count,
    )


def _key_arrays(keys: list[Key]) -> dict[str, list[str]]:
    return {"sites": [site for site, _ in keys], "lots": [lot for _, lot in keys]}


def refold_site(conn: psycopg.Connection[Any], site_id: str, chunk: int = 20_000) -> int:
    """Rebuild every lot of one site from its stored events; return the visits written.

    The repair for lot state folded under other rules (before visits were tracked), and the
    proof of the invariant: the result is the fold of the stored events, nothing else. Events
    stream from a server-side cursor a lot at a time, so memory stays flat at any size."""
    written = 0
    with conn.cursor() as cur, conn.cursor(name="refold_events") as events:
        cur.execute(_LOCK_SITES, {"sites": [site_id]})
        cur.execute("DELETE FROM lot WHERE site_id = %s", (site_id,))
        events.execute(
            f"SELECT {_COLUMNS} FROM cargo_event WHERE site_id = %s ORDER BY lot_id", (site_id,)
        )
        pending: list[EventRow] = []
        for row in events:
            if len(pending) >= chunk and row[4] != pending[-1][4]:
                written += _write_folded(cur, pending)
                pending = []
            pending.append(row)
        written += _write_folded(cur, pending)
    return written


def _write_folded(cur: psycopg.Cursor[Any], rows: list[EventRow]) -> int:
    visits = fold(rows)
    _write_visits(cur, visits)
    return len(visits)
