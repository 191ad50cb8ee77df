"""Score a set of declarations set-based: features, then rules, then flags and marks.

`score` fills the temporary table risk_new_flag from a source table of declarations (the ingest
stage, or a slice of stored declarations being re-screened): one INSERT for every feature, one
for every rule. The callers then merge those into risk_flag and mark the declarations; ingest
marks the stage before inserting it (no second write of the row), a re-screen updates only
the stored declarations whose mark changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import psycopg

from collector.risk.features import FEATURE_SQL, RULE_SQL, Thresholds

_NEW_FLAG = """
CREATE TEMP TABLE IF NOT EXISTS risk_new_flag (
    declaration_id text, declared_at timestamptz, site_id text, feature text, rule_id int,
    score float8, observed float8, expected float8, reference text, reason text
) ON COMMIT DELETE ROWS
"""
_COLUMNS = (
    "declaration_id, declared_at, site_id, feature, rule_id, score, observed, expected,"
    " reference, reason"
)

# One row per flagged declaration: the highest feature score (0 when only rules hit), the
# features and the rules.
_MARKS = """
SELECT declaration_id, declared_at,
       coalesce(max(score) FILTER (WHERE feature <> 'rule'), 0) AS score,
       array_agg(feature ORDER BY feature) FILTER (WHERE feature <> 'rule') AS features,
       array_agg(rule_id ORDER BY rule_id) FILTER (WHERE feature = 'rule') AS rules
FROM risk_new_flag GROUP BY declaration_id, declared_at
"""
MARK_STAGE = f"""
UPDATE stage_declaration s
SET risk_score = m.score, risk_features = m.features, risk_rules = m.rules
FROM ({_MARKS}) m
WHERE s.declaration_id = m.declaration_id AND s.declared_at = m.declared_at
"""
_MARK_STORED = f"""
UPDATE declaration d
SET risk_score = m.score, risk_features = m.features, risk_rules = m.rules
FROM ({_MARKS}) m
WHERE d.declaration_id = m.declaration_id AND d.declared_at = m.declared_at
  AND d.declared_at >= %(lo)s AND d.declared_at < %(hi)s
  AND (d.risk_score, d.risk_features, d.risk_rules) IS DISTINCT FROM (m.score, m.features, m.rules)
"""
_UNMARK_STORED = """
UPDATE declaration d SET risk_score = NULL, risk_features = NULL, risk_rules = NULL
WHERE d.declared_at >= %(lo)s AND d.declared_at < %(hi)s AND d.risk_score IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM risk_new_flag n
                  WHERE n.declaration_id = d.declaration_id AND n.declared_at = d.declared_at)
"""

_STALE = """
NOT EXISTS (SELECT 1 FROM risk_new_flag n
            WHERE n.declaration_id = f.declaration_id AND n.declared_at = f.declared_at
              AND n.feature = f.feature AND n.rule_id = f.rule_id)
"""
# Flags of amended declarations that no longer hold (new declarations have none yet).
DROP_STALE_AMENDED = f"""
DELETE FROM risk_flag f USING stage_declaration s
WHERE NOT s.is_new AND f.declaration_id = s.declaration_id AND f.declared_at = s.declared_at
  AND {_STALE}
"""
_DROP_STALE_RANGE = f"""
DELETE FROM risk_flag f WHERE f.declared_at >= %(lo)s AND f.declared_at < %(hi)s AND {_STALE}
"""
# Sorted, so concurrent writers take the unique index's locks in one order; an unchanged flag
# is not rewritten (a re-screen mostly finds the same flags).
UPSERT_FLAGS = f"""
INSERT INTO risk_flag AS f ({_COLUMNS})
SELECT {_COLUMNS} FROM risk_new_flag ORDER BY declaration_id, declared_at, feature, rule_id
ON CONFLICT (declaration_id, declared_at, feature, rule_id) DO UPDATE SET
    site_id = EXCLUDED.site_id, score = EXCLUDED.score, observed = EXCLUDED.observed,
    expected = EXCLUDED.expected, reference = EXCLUDED.reference, reason = EXCLUDED.reason,
    computed_at = now()
WHERE (f.score, f.observed, f.expected, f.reason, f.site_id)
      IS DISTINCT FROM (EXCLUDED.score, EXCLUDED.observed, EXCLUDED.expected, EXCLUDED.reason,
                        EXCLUDED.site_id)
"""


@cache
def _statements(src: str, thresholds: Thresholds) -> tuple[str, str]:
    params = thresholds.params()
    return (
        f"INSERT INTO risk_new_flag ({_COLUMNS}) " + FEATURE_SQL.format(src=src, **params),
        f"INSERT INTO risk_new_flag ({_COLUMNS}) " + RULE_SQL.format(src=src),
    )


def score(cur: psycopg.Cursor[Any], src: str, thresholds: Thresholds) -> None:
    """Compute the flags of every declaration in the table `src` into risk_new_flag."""
    features, rules = _statements(src, thresholds)
    cur.execute(_NEW_FLAG)
    cur.execute("DELETE FROM risk_new_flag")
    cur.execute(features)
    cur.execute(rules)


@dataclass(frozen=True)
class SliceResult:
    declarations: int
    flags: int
    marks_changed: int


_SLICE = """
CREATE TEMP TABLE risk_src ON COMMIT DROP AS
SELECT * FROM declaration WHERE declared_at >= %(lo)s AND declared_at < %(hi)s
"""


def rescreen_slice(
    conn: psycopg.Connection[Any], lo: datetime, hi: datetime, thresholds: Thresholds
) -> SliceResult:
    """Re-score the stored declarations in [lo, hi) against today's references and rules, in
    the caller's transaction; only flags and marks that changed are written."""
    bounds = {"lo": lo, "hi": hi}
    with conn.cursor() as cur:
        cur.execute(_SLICE, bounds)
        declarations = max(cur.rowcount, 0)
        cur.execute("ANALYZE risk_src")
        score(cur, "risk_src", thresholds)
        cur.execute(_DROP_STALE_RANGE, bounds)
        cur.execute(UPSERT_FLAGS)
        cur.execute(_MARK_STORED, bounds)
        changed = max(cur.rowcount, 0)
        cur.execute(_UNMARK_STORED, bounds)
        changed += max(cur.rowcount, 0)
        cur.execute("SELECT count(*) FROM risk_new_flag")
        flags = int((cur.fetchone() or (0,))[0])
    return SliceResult(declarations, flags, changed)
