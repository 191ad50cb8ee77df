"""Robust value references (median and MAD per HS code x origin), maintained incrementally.

Method: every declaration counts into a log-spaced histogram per reference key, for two
features (unit value = value_cny / quantity, per quantity unit; value per kg = value_cny / net
kg, or gross kg when net is not stated) at two levels (HS-8 x origin, and HS-6 x origin as the
fallback for thin 8-digit lines). A bucket is floor(ln(value) / ln(1.05)): 5% wide, so a median
read from it is within 2.5% at any price level. Each key's histogram is one int array in
risk_reference (sql/0102); a batch groups its values per key and merges them with one sorted
upsert, which also recomputes the key's median (interpolated within its bucket) and the MAD of
ln(value) (never finer than a bucket) in SQL functions. Counts only add up, so concurrent
batches commute; an amendment subtracts the value it replaces.

Compared with streaming sketches (t-digest, GK), the histogram is exact up to its bucket width,
mergeable by addition, supports the deletions amendments need, and lives in plain SQL.
`rebuild` recomputes every reference from stored declarations, e.g. over a trailing window.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import psycopg

BUCKET_WIDTH = math.log(1.05)
_KEY = "feature, hs, origin, unit"


def _values(row: str, get: str, sign: int) -> str:
    """A SELECT of (feature, hs, origin, unit, bucket, k) for every reference a row counts in,
    from `{source}`; `get` formats a column name into the expression that reads it (the column
    itself, or the `before` JSON of an amendment)."""

    def col(name: str, cast: str = "") -> str:
        return get.format(row=row, name=name) + cast

    value = col("value_cny", "::float8")
    per_unit = f"{value} / {col('quantity', '::float8')}"
    per_kg = f"{value} / coalesce({col('net_kg', '::float8')}, {col('gross_kg', '::float8')})"
    hs = col("hs_code")
    return f"""
    SELECT v.feature, v.hs, {col("origin")} AS origin, v.unit,
           floor(ln(v.x) / {BUCKET_WIDTH!r})::int AS bucket, {sign} AS k
    FROM {{source}} CROSS JOIN LATERAL (VALUES
        ('unit_value', left({hs}, 8), {col("unit")}, {per_unit}),
        ('unit_value', left({hs}, 6), {col("unit")}, {per_unit}),
        ('value_per_kg', left({hs}, 8), 'KG', {per_kg}),
        ('value_per_kg', left({hs}, 6), 'KG', {per_kg})) AS v(feature, hs, unit, x)
    WHERE v.x > 0"""


_COLUMN = "{row}.{name}"
_BEFORE = "({row}.before ->> '{name}')"

# Merge per-key deltas (`agg`: key, buckets[], deltas[]) into the stored histograms. The
# statistics of the batch alone are computed only for keys not stored yet (if one is stored
# meanwhile, the conflict branch computes them from the merged histogram anyway).
_MERGE = f"""
fresh AS (
    SELECT agg.{_KEY.replace(", ", ", agg.")}, h.new_lo AS lo, h.new_counts AS counts,
           x.hs IS NULL AS is_new
    FROM agg CROSS JOIN LATERAL risk_hist_add(NULL, NULL, agg.buckets, agg.deltas) h
    LEFT JOIN risk_reference x USING ({_KEY})
)
INSERT INTO risk_reference AS r ({_KEY}, lo, counts, n, median, mad_log, updated_at)
SELECT {_KEY}, f.lo, f.counts, coalesce(s.n, 0), exp(s.median_log), s.mad_log, now()
FROM fresh f
-- OFFSET 0 keeps the subquery whole, so is_new gates the call instead of filtering after it
LEFT JOIN LATERAL (SELECT * FROM risk_hist_stats(f.lo, f.counts) WHERE f.is_new OFFSET 0) s
    ON true
ORDER BY {_KEY}
ON CONFLICT ({_KEY}) DO UPDATE SET (lo, counts, n, median, mad_log, updated_at) = (
    SELECT h.new_lo, h.new_counts, s.n, exp(s.median_log), s.mad_log, now()
    FROM risk_hist_add(r.lo, r.counts,
                       ARRAY(SELECT generate_series(EXCLUDED.lo,
                                                    EXCLUDED.lo + cardinality(EXCLUDED.counts) - 1)),
                       EXCLUDED.counts) h
    CROSS JOIN LATERAL risk_hist_stats(h.new_lo, h.new_counts) s
)
"""

# The stage's new values, less the values its amendments replace.
_ADD_BATCH = f"""
WITH vals AS (
    {_values("s", _COLUMN, 1).format(source="stage_declaration s")}
    UNION ALL
    {_values("s", _BEFORE, -1).format(source="stage_declaration s")} AND NOT s.is_new
), agg AS (
    SELECT {_KEY}, array_agg(bucket) AS buckets, array_agg(k) AS deltas
    FROM vals GROUP BY {_KEY}
), {_MERGE}
"""

_REBUILD = f"""
WITH vals AS (
    {_values("d", _COLUMN, 1).format(source="declaration d")}
      AND d.declared_at >= %(since)s
), per_bucket AS (
    SELECT {_KEY}, bucket, sum(k)::int AS k FROM vals GROUP BY {_KEY}, bucket
), agg AS (
    SELECT {_KEY}, array_agg(bucket) AS buckets, array_agg(k) AS deltas
    FROM per_bucket GROUP BY {_KEY}
), {_MERGE}
"""


def add_batch(cur: psycopg.Cursor[Any]) -> None:
    """Count the stage's declarations into the references, refreshing their median and MAD."""
    cur.execute(_ADD_BATCH)


def rebuild(conn: psycopg.Connection[Any], since: datetime) -> int:
    """Recompute every reference from the declarations since `since`; return how many keys.
    Ingest waits meanwhile (the table is locked), so no batch is counted twice or lost."""
    with conn.cursor() as cur:
        cur.execute("LOCK TABLE risk_reference IN EXCLUSIVE MODE")
        cur.execute("TRUNCATE risk_reference")
        cur.execute(_REBUILD, {"since": since})
        return max(cur.rowcount, 0)
