"""Trader profiles and site x HS origin sets, and each new declaration's context from them.

Five counters of declarations seen: per trader, trader x HS chapter, trader x origin, site x
HS-6 and site x HS-6 x origin. One generated statement per counter adds the batch (a sorted
upsert: concurrent batches lock rows in the same order and never deadlock on them) and, from
the totals the upsert returns, gives each staged declaration the count of declarations seen
before it: total - (batch count) + (rank in the batch) - 1. That "prior" count is stored on the
declaration, so novelty features (first declaration, sudden pattern change, new origin) judge
each declaration as of its arrival, also when it is re-screened later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg


@dataclass(frozen=True)
class Counter:
    table: str
    keys: tuple[str, ...]  # the counter table's key columns
    exprs: tuple[str, ...]  # their values, as expressions over a staged declaration
    prior: str  # the stage column that receives the count of earlier declarations


COUNTERS = (
    Counter("trader_profile", ("trader_id",), ("trader_id",), "trader_prior"),
    Counter(
        "trader_pattern",
        ("trader_id", "dim", "value"),
        ("trader_id", "'chapter'", "left(hs_code, 2)"),
        "trader_chapter_prior",
    ),
    Counter(
        "trader_pattern",
        ("trader_id", "dim", "value"),
        ("trader_id", "'origin'", "origin"),
        "trader_origin_prior",
    ),
    Counter("site_hs", ("site_id", "hs6"), ("site_id", "left(hs_code, 6)"), "site_hs_prior"),
    Counter(
        "site_hs_origin",
        ("site_id", "hs6", "origin"),
        ("site_id", "left(hs_code, 6)", "origin"),
        "site_hs_origin_prior",
    ),
)


def counter_sql(counter: Counter) -> str:
    keys = ", ".join(counter.keys)
    items = ", ".join(f"{e} AS {k}" for e, k in zip(counter.exprs, counter.keys, strict=True))
    same = " AND ".join(f"r.{k} = u.{k}" for k in counter.keys)
    return f"""
WITH items AS (
    SELECT declaration_id, declared_at, {items} FROM stage_declaration WHERE is_new
), batch AS (
    SELECT {keys}, count(*) AS n, min(declared_at) AS first_at, max(declared_at) AS last_at,
           (array_agg(declaration_id ORDER BY declared_at, declaration_id))[1] AS first_id
    FROM items GROUP BY {keys} ORDER BY {keys}
), up AS (
    INSERT INTO {counter.table} AS t
        ({keys}, n, first_seen_at, first_declaration_id, last_seen_at)
    SELECT {keys}, n, first_at, first_id, last_at FROM batch
    ON CONFLICT ({keys}) DO UPDATE SET n = t.n + EXCLUDED.n,
        last_seen_at = greatest(t.last_seen_at, EXCLUDED.last_seen_at)
    RETURNING {keys}, t.n AS total
), ranked AS (
    SELECT declaration_id, declared_at, {keys},
           row_number() OVER (PARTITION BY {keys} ORDER BY declared_at, declaration_id) AS rk,
           count(*) OVER (PARTITION BY {keys}) AS bn
    FROM items
)
UPDATE stage_declaration s SET {counter.prior} = u.total - r.bn + r.rk - 1
FROM ranked r JOIN up u ON {same}
WHERE s.declaration_id = r.declaration_id AND s.declared_at = r.declared_at
"""


COUNTER_SQL = tuple(counter_sql(c) for c in COUNTERS)

# A trader's amendment count goes up once per declaration, when it is first seen amended.
_AMENDED = """
WITH a AS (
    SELECT trader_id, count(*) AS k FROM stage_declaration
    WHERE amendment_no > 0 AND (is_new OR (before ->> 'amendment_no')::int = 0)
    GROUP BY trader_id ORDER BY trader_id
)
UPDATE trader_profile p SET amended = p.amended + a.k FROM a WHERE p.trader_id = a.trader_id
"""


def add_batch(cur: psycopg.Cursor[Any]) -> None:
    """Count the stage's new declarations and set their prior counts; count amendments."""
    # The planner cannot know how many rows an upsert returns, guesses few, and joins them in a
    # nested loop: quadratic in the batch (5 s per counter for 15,000 declarations). Hash joins
    # are right at every batch size here.
    cur.execute("SET LOCAL enable_nestloop = off")
    for sql in COUNTER_SQL:
        cur.execute(sql)
    cur.execute("SET LOCAL enable_nestloop = on")
    cur.execute(_AMENDED)
