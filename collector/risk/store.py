"""The one ingest path for declarations (push, pull, file import, simulator), screening included.

In the caller's transaction: binary COPY into a temporary stage; drop what is already stored
(same id and time, same or later amendment); turn re-sent declarations with a higher amendment
number into amendments; give new declarations their context (context.py); score the stage
against the references as they were before this batch (scoring.py); insert the new rows and
update the amended ones, already marked; write the flags; then count the batch into the
references (references.py). A declaration is therefore stored, scored and marked in one
commit: the 202 of the API means its flags are visible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from collector.risk import context, references
from collector.risk.declarations import DECLARATION_COLUMNS, DeclarationRow
from collector.risk.features import DEFAULT_THRESHOLDS, Thresholds
from collector.risk.scoring import DROP_STALE_AMENDED, MARK_STAGE, UPSERT_FLAGS, score

_COPY_TYPES = [
    "text",
    "timestamptz",
    "timestamptz",
    "text",
    "text",
    "text",
    "text",
    "text",
    "float8",
    "text",
    "float8",
    "float8",
    "text",
    "float8",
    "float8",
    "text",
    "int4",
    "timestamptz",
    "text",
]
_INPUT = ", ".join(DECLARATION_COLUMNS)
_CONTEXT = (
    "trader_prior, trader_chapter_prior, trader_origin_prior, site_hs_prior, site_hs_origin_prior"
)
_STORED = _INPUT + ", " + _CONTEXT + ", risk_score, risk_features, risk_rules"
# What an amendment may change: everything but the identity, the arrival and its context.
_AMENDABLE = (
    ", ".join(
        c
        for c in DECLARATION_COLUMNS
        if c not in ("declaration_id", "declared_at", "received_at", "amended_at", "source")
    )
    + ", risk_score, risk_features, risk_rules"
)


def _prefixed(alias: str, columns: str) -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in columns.split(","))


_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS stage_declaration
    (LIKE declaration INCLUDING DEFAULTS, is_new boolean NOT NULL DEFAULT true, before jsonb)
    ON COMMIT DELETE ROWS
"""
_SAME = "d.declaration_id = s.declaration_id AND d.declared_at = s.declared_at"
# The batch's time range as constants, so only the chunks that can hold its declarations are
# searched (TimescaleDB excludes the others when planning).
_IN_RANGE = "d.declared_at >= %(lo)s AND d.declared_at <= %(hi)s"
_DROP_STORED = f"""
DELETE FROM stage_declaration s USING declaration d
WHERE {_SAME} AND {_IN_RANGE} AND d.amendment_no >= s.amendment_no
"""
# An amendment keeps the context of the original arrival and remembers what it replaces.
_AS_AMENDMENTS = f"""
UPDATE stage_declaration s SET is_new = false,
    ({_CONTEXT}) = ({_prefixed("d", _CONTEXT)}),
    before = jsonb_build_object('hs_code', d.hs_code, 'origin', d.origin, 'unit', d.unit,
        'trader_id', d.trader_id, 'site_id', d.site_id, 'declared_value', d.declared_value,
        'currency', d.currency, 'value_cny', d.value_cny, 'quantity', d.quantity,
        'gross_kg', d.gross_kg, 'net_kg', d.net_kg, 'amendment_no', d.amendment_no)
FROM declaration d WHERE {_SAME} AND {_IN_RANGE}
"""
_INSERT_NEW = (
    f"INSERT INTO declaration ({_STORED}) SELECT {_STORED} FROM stage_declaration WHERE is_new"
)
_UPDATE_AMENDED = f"""
UPDATE declaration d SET ({_AMENDABLE}) = ({_prefixed("s", _AMENDABLE)}),
    amended_at = coalesce(s.amended_at, s.received_at)
FROM stage_declaration s WHERE NOT s.is_new AND {_SAME} AND {_IN_RANGE}
  -- re-checked on the newest row version: a later amendment committed meanwhile wins
  AND d.amendment_no < s.amendment_no
"""
_LOG_AMENDMENTS = """
INSERT INTO declaration_amendment (declaration_id, declared_at, amendment_no, amended_at, before)
SELECT declaration_id, declared_at, amendment_no, coalesce(amended_at, received_at), before
FROM stage_declaration WHERE NOT is_new
ON CONFLICT DO NOTHING
"""
_FLAGGED = """
SELECT declaration_id, risk_score, coalesce(risk_features, '{}'), coalesce(risk_rules, '{}')
FROM stage_declaration WHERE risk_score IS NOT NULL ORDER BY risk_score DESC, declaration_id
"""
# Retries after a concurrent writer stored one of the batch's declarations first (or a
# deadlock victim): each retry drops what is now stored and recomputes the context.
_ATTEMPTS = 5


@dataclass(frozen=True)
class Flagged:
    declaration_id: str
    score: float
    features: list[str]
    rules: list[int]


@dataclass(frozen=True)
class SaveResult:
    received: int
    stored: int
    amended: int
    flagged: list[Flagged] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        return self.received - self.stored - self.amended


def save_declarations(
    conn: psycopg.Connection[Any],
    rows: Sequence[DeclarationRow],
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> SaveResult:
    """Store, screen and mark declarations inside the caller's transaction."""
    if not rows:
        return SaveResult(0, 0, 0)
    # Within one batch the latest amendment of a declaration wins.
    latest: dict[tuple[Any, Any], DeclarationRow] = {}
    for row in rows:
        key = (row[0], row[1])
        if key not in latest or row[16] >= latest[key][16]:
            latest[key] = row
    with conn.cursor() as cur:
        cur.execute(_STAGE)
        cur.execute("DELETE FROM stage_declaration")
        with cur.copy(f"COPY stage_declaration ({_INPUT}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(_COPY_TYPES)
            for row in latest.values():
                copy.write_row(row)
        # A temporary table has no statistics: without them the planner may hash-join the
        # whole declaration table instead of looking the batch up by its index.
        cur.execute("ANALYZE stage_declaration")
        times = [row[1] for row in latest.values()]
        bounds = {"lo": min(times), "hi": max(times)}
        stored, amended = _store_screened(conn, cur, thresholds, bounds)
        cur.execute(_LOG_AMENDMENTS)
        cur.execute(DROP_STALE_AMENDED)
        cur.execute(UPSERT_FLAGS)
        references.add_batch(cur)
        cur.execute(_FLAGGED)
        flagged = [Flagged(r[0], float(r[1]), list(r[2]), list(r[3])) for r in cur.fetchall()]
    return SaveResult(len(rows), stored, amended, flagged)


def _store_screened(
    conn: psycopg.Connection[Any],
    cur: psycopg.Cursor[Any],
    thresholds: Thresholds,
    bounds: dict[str, Any],
) -> tuple[int, int]:
    for attempt in range(_ATTEMPTS):
        cur.execute(_DROP_STORED, bounds)
        cur.execute(_AS_AMENDMENTS, bounds)
        amended = max(cur.rowcount, 0)
        try:
            with conn.transaction():  # a savepoint: a conflict undoes only this attempt
                context.add_batch(cur)
                score(cur, "stage_declaration", thresholds)
                cur.execute(MARK_STAGE)
                cur.execute(_INSERT_NEW)
                stored = max(cur.rowcount, 0)
                cur.execute(_UPDATE_AMENDED, bounds)
            return stored, amended
        except (psycopg.errors.UniqueViolation, psycopg.errors.DeadlockDetected):
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")
