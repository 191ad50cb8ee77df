"""The one ingest path for declarations (push, pull, file import, simulator), screening included.

In the caller's transaction: binary COPY of every item into a temporary input stage; judge each
item in one statement against what is stored and what came before it in the batch; stage the
one copy per declaration that applies; give new declarations their context (context.py); score
the stage against the references as they were before this batch (scoring.py); insert the new
rows and update the amended ones, already marked; write the flags; then count the batch into
the references (references.py). A declaration is therefore stored, scored and marked in one
commit: the 202 of the API means its flags are visible.

A declaration is identified by (declaration_id, declared_at), and each item is judged as if
the items had arrived one at a time, so the outcome does not depend on how the sender cut its
batches. Against the highest amendment_no received before it (stored or earlier in the batch):

- higher: it is accepted (new, or an amendment); the highest in the batch is the one applied;
- equal: a duplicate when its content is that of the first copy received with that number
  (stored or in the batch), else a conflict, refused: the first copy received wins;
- lower: superseded, counted with the duplicates.

Content is every input column but received_at and source; an amended_at left out matches any
(an amendment stored without one holds its arrival time). With `writable_sites` (the sites of
the API token's subtree), an item whose declaration is stored under any other site is refused
before anything else: another customs can neither amend nor re-send it.
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

# Each declaration column's type for the binary COPY. Looked up by name (the columns and their
# order are DECLARATION_COLUMNS), so a column added there without a type here fails on import
# instead of shifting the types of the columns after it.
_COLUMN_TYPES = {
    "declaration_id": "text",
    "declared_at": "timestamptz",
    "received_at": "timestamptz",
    "site_id": "text",
    "trader_id": "text",
    "hs_code": "text",
    "origin": "text",
    "direction": "text",
    "declared_value": "float8",
    "currency": "text",
    "value_cny": "float8",
    "quantity": "float8",
    "unit": "text",
    "gross_kg": "float8",
    "net_kg": "float8",
    "transport_mode": "text",
    "amendment_no": "int4",
    "amended_at": "timestamptz",
    "source": "text",
}
# seq (the item's position in the rows given), then the declaration's columns.
_COPY_TYPES = ["int4", *(_COLUMN_TYPES[c] for c in DECLARATION_COLUMNS)]
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
# Every item as given, in order; stage_declaration receives the ones that apply.
_INPUT_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS stage_input
    (LIKE declaration INCLUDING DEFAULTS, seq int NOT NULL) ON COMMIT DELETE ROWS
"""
_SAME = "d.declaration_id = s.declaration_id AND d.declared_at = s.declared_at"
# The batch's time range as constants, so only the chunks that can hold its declarations are
# searched (TimescaleDB excludes the others when planning).
_IN_RANGE = "d.declared_at >= %(lo)s AND d.declared_at <= %(hi)s"
_CONTENT = [
    c
    for c in DECLARATION_COLUMNS
    if c
    not in ("declaration_id", "declared_at", "received_at", "amendment_no", "amended_at", "source")
]


def _same_content(later: str, first: str) -> str:
    """SQL: the item `later` says what `first` (stored or earlier in the batch) said."""
    return (
        f"({_prefixed(later, ', '.join(_CONTENT))}) IS NOT DISTINCT FROM"
        f" ({_prefixed(first, ', '.join(_CONTENT))})"
        f" AND ({later}.amended_at IS NULL"
        f" OR {later}.amended_at = coalesce({first}.amended_at, {first}.received_at))"
    )


# Judge every item (see the module docstring) and stage the one per declaration that applies;
# an amendment keeps the context of the original arrival and remembers what it replaces.
# Returns the refused items and the staged amendments.
_JUDGE = f"""
WITH ranked AS (
    -- the batch's order alone (narrow rows, cheap to sort)
    SELECT seq, max(amendment_no) OVER earlier AS batch_max,
           first_value(seq) OVER same_number AS first_seq,
           first_value(seq) OVER highest AS top_seq
    FROM stage_input
    WINDOW earlier AS (PARTITION BY declaration_id, declared_at ORDER BY seq
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
           same_number AS (PARTITION BY declaration_id, declared_at, amendment_no ORDER BY seq),
           highest AS (PARTITION BY declaration_id, declared_at ORDER BY amendment_no DESC, seq)
), w AS (
    SELECT s.seq, s.declaration_id, s.amendment_no, d.amendment_no AS stored_no,
           coalesce(d.site_id <> ALL (%(writable)s::text[]), false) AS foreign_site,
           {_same_content("s", "d")} AS as_stored,
           -- the highest number received before this item, stored or in the batch
           greatest(d.amendment_no, r.batch_max) AS prev_max, r.first_seq, r.top_seq,
           d.declaration_id IS NULL AS is_new, {_prefixed("d", _CONTEXT)},
           CASE WHEN d.declaration_id IS NOT NULL THEN jsonb_build_object(
               'hs_code', d.hs_code, 'origin', d.origin, 'unit', d.unit,
               'trader_id', d.trader_id, 'site_id', d.site_id,
               'declared_value', d.declared_value, 'currency', d.currency,
               'value_cny', d.value_cny, 'quantity', d.quantity, 'gross_kg', d.gross_kg,
               'net_kg', d.net_kg, 'amendment_no', d.amendment_no) END AS before
    FROM stage_input s
    JOIN ranked r ON r.seq = s.seq
    LEFT JOIN declaration d ON {_SAME} AND {_IN_RANGE}
), judged AS (
    SELECT w.*, CASE
        WHEN w.foreign_site THEN 'foreign'
        WHEN w.prev_max IS NULL OR w.amendment_no > w.prev_max THEN
            CASE WHEN w.seq = w.top_seq THEN 'apply' ELSE 'accepted' END
        WHEN w.amendment_no < w.prev_max THEN 'superseded'
        WHEN w.stored_no = w.amendment_no THEN
            CASE WHEN w.as_stored THEN 'duplicate' ELSE 'conflict' END
        WHEN {_same_content("s", "f")} THEN 'duplicate'
        ELSE 'conflict'
    END AS outcome
    FROM w JOIN stage_input s ON s.seq = w.seq JOIN stage_input f ON f.seq = w.first_seq
), applied AS (
    INSERT INTO stage_declaration ({_INPUT}, is_new, before, {_CONTEXT})
    SELECT {_prefixed("s", _INPUT)}, j.is_new, j.before,
           {", ".join(f"coalesce(j.{c.strip()}, 0)" for c in _CONTEXT.split(","))}
    FROM judged j JOIN stage_input s ON s.seq = j.seq
    WHERE j.outcome = 'apply'
)
SELECT seq, declaration_id, outcome FROM judged
WHERE outcome IN ('foreign', 'conflict') OR (outcome = 'apply' AND NOT is_new)
ORDER BY seq
"""
_REFUSALS = {
    "foreign": "is stored under a site this token cannot write",
    "conflict": (
        "conflicts with a declaration already received with the same id, time and amendment_no"
    ),
}
_INSERT_NEW = (
    f"INSERT INTO declaration ({_STORED}) SELECT {_STORED} FROM stage_declaration WHERE is_new"
)
_UPDATE_AMENDED = f"""
UPDATE declaration d SET ({_AMENDABLE}) = ({_prefixed("s", _AMENDABLE)}),
    amended_at = coalesce(s.amended_at, s.received_at)
FROM stage_declaration s WHERE NOT s.is_new AND {_SAME} AND {_IN_RANGE}
  -- re-checked on the newest row version: if a writer committed a later amendment or moved
  -- the declaration meanwhile, fewer rows are updated and the batch is judged again
  AND d.amendment_no < s.amendment_no
  AND (%(writable)s::text[] IS NULL OR d.site_id = ANY (%(writable)s::text[]))
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
# Retries after a concurrent writer stored, amended or moved one of the batch's declarations
# first (or a deadlock victim): each retry judges the items again against what is now stored.
_ATTEMPTS = 5


@dataclass(frozen=True)
class Flagged:
    declaration_id: str
    score: float
    features: list[str]
    rules: list[int]


@dataclass(frozen=True)
class Rejected:
    """An item refused by the store: its position in the rows given, and why."""

    position: int
    declaration_id: str
    field: str
    reason: str


@dataclass(frozen=True)
class SaveResult:
    received: int
    stored: int
    amended: int
    flagged: list[Flagged] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        """Identical re-sends and superseded amendments."""
        return self.received - self.stored - self.amended - len(self.rejected)


def save_declarations(
    conn: psycopg.Connection[Any],
    rows: Sequence[DeclarationRow],
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    writable_sites: set[str] | None = None,
) -> SaveResult:
    """Store, screen and mark declarations inside the caller's transaction. With
    `writable_sites`, items whose declaration is stored under another site are refused (None:
    file import, feeds and the simulator, unrestricted)."""
    if not rows:
        return SaveResult(0, 0, 0)
    with conn.cursor() as cur:
        # One round trip (no parameters, so several statements may share it).
        cur.execute(
            f"{_STAGE}; {_INPUT_STAGE}; DELETE FROM stage_input; DELETE FROM stage_declaration"
        )
        with cur.copy(f"COPY stage_input (seq, {_INPUT}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(_COPY_TYPES)
            for seq, row in enumerate(rows):
                copy.write_row((seq, *row))
        # A temporary table has no statistics: without them the planner may hash-join the
        # whole declaration table instead of looking the batch up by its index.
        cur.execute("ANALYZE stage_input")
        times = [row[1] for row in rows]
        params = {
            "lo": min(times),
            "hi": max(times),
            "writable": None if writable_sites is None else sorted(writable_sites),
        }
        stored, amended, rejected = _store_screened(conn, cur, thresholds, params)
        cur.execute(_LOG_AMENDMENTS)
        cur.execute(DROP_STALE_AMENDED)
        cur.execute(UPSERT_FLAGS)
        references.add_batch(cur)
        cur.execute(_FLAGGED)
        flagged = [Flagged(r[0], float(r[1]), list(r[2]), list(r[3])) for r in cur.fetchall()]
    return SaveResult(len(rows), stored, amended, flagged, rejected)


class _Raced(Exception):
    """A concurrent writer amended or moved a staged amendment's declaration first."""


def _judge(cur: psycopg.Cursor[Any], params: dict[str, Any]) -> tuple[list[Rejected], int]:
    """Fill stage_declaration (empty) with what applies; return the refused items and how many
    of the staged rows are amendments."""
    cur.execute(_JUDGE, params)
    rejected: list[Rejected] = []
    amendments = 0
    for seq, ident, outcome in cur.fetchall():
        if outcome == "apply":
            amendments += 1
        else:
            rejected.append(Rejected(seq, ident, "declaration_id", _REFUSALS[outcome]))
    cur.execute("ANALYZE stage_declaration")
    return rejected, amendments


def _store_screened(
    conn: psycopg.Connection[Any],
    cur: psycopg.Cursor[Any],
    thresholds: Thresholds,
    params: dict[str, Any],
) -> tuple[int, int, list[Rejected]]:
    for attempt in range(_ATTEMPTS):
        if attempt:
            cur.execute("DELETE FROM stage_declaration")
        rejected, amendments = _judge(cur, params)
        try:
            with conn.transaction():  # a savepoint: a conflict undoes only this attempt
                context.add_batch(cur)
                score(cur, "stage_declaration", thresholds)
                cur.execute(MARK_STAGE)
                cur.execute(_INSERT_NEW)
                stored = max(cur.rowcount, 0)
                cur.execute(_UPDATE_AMENDED, params)
                if cur.rowcount < amendments:
                    raise _Raced
            return stored, amendments, rejected
        except (psycopg.errors.UniqueViolation, psycopg.errors.DeadlockDetected, _Raced):
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")
