"""Compute indicator values for every node of the tree at one or more times, in the database.

One statement per source: the source's rows are joined with the batch of times, aggregated with
GROUPING SETS (site, office, customs, national) using the definitions in metric_definitions, and
upserted into metric_point, so re-running a time is idempotent. Nodes without rows get the
indicator's empty value (0 for counts), or no point where "no data" is the honest answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import text
from sqlalchemy.engine import Connection

from collector.metric_definitions import INDICATORS, SOURCES, Indicator, Source

_NODE = (
    "CASE WHEN GROUPING(c.site_id) = 0 THEN c.site_id WHEN GROUPING(c.office_id) = 0 "
    "THEN c.office_id WHEN GROUPING(c.customs_id) = 0 THEN c.customs_id ELSE 'CN' END"
)


def _source_sql(source: Source, indicators: Sequence[Indicator], latest: bool) -> str:
    aggregates = ",\n       ".join(f"{i.expr} AS c{n}" for n, i in enumerate(indicators))
    values = ", ".join(
        f"('{i.code}', "
        + (f"coalesce(agg.c{n}, {i.empty})" if i.empty is not None else f"agg.c{n}")
        + "::float8)"
        for n, i in enumerate(indicators)
    )
    upsert_latest = (
        """, latest AS (
    INSERT INTO series_latest AS sl (series_id, time, value)
    SELECT series_id, time, value FROM points WHERE time = CAST(:tmax AS timestamptz)
    ON CONFLICT (series_id) DO UPDATE SET time = EXCLUDED.time, value = EXCLUDED.value
    WHERE sl.time <= EXCLUDED.time
)"""
        if latest
        else ""
    )
    return f"""
WITH g AS (SELECT DISTINCT t FROM unnest(CAST(:times AS timestamptz[])) AS g(t)),
c AS MATERIALIZED (
    SELECT {", ".join("s." + c.strip() for c in source.columns.split(","))}, a.office_id, a.customs_id
    FROM {source.table} s JOIN site_ancestry a ON a.site_id = s.site_id
    WHERE {source.candidates}
),
agg AS (
    SELECT g.t, {_NODE} AS node_id,
       {aggregates}
    FROM g JOIN c ON {source.member}
    GROUP BY g.t, ROLLUP (c.customs_id, c.office_id, c.site_id)
),
points AS (
    SELECT g.t AS time, s.series_id, v.value
    FROM g CROSS JOIN org_node n
    LEFT JOIN agg ON agg.t = g.t AND agg.node_id = n.node_id
    CROSS JOIN LATERAL (VALUES {values}) AS v(code, value)
    JOIN series s ON s.node_id = n.node_id AND s.indicator_code = v.code
    WHERE v.value IS NOT NULL
){upsert_latest}
INSERT INTO metric_point (time, series_id, value)
SELECT time, series_id, value FROM points
ON CONFLICT (series_id, time) DO UPDATE SET value = EXCLUDED.value
"""


@cache
def source_statement(source_name: str, latest: bool) -> str:
    source = SOURCES[source_name]
    indicators = [i for i in INDICATORS if i.source == source_name]
    return _source_sql(source, indicators, latest)


@dataclass(frozen=True)
class CycleResult:
    times: int
    points: int


def compute(conn: Connection, times: Sequence[datetime], live: bool = False) -> CycleResult:
    """Write every built-in indicator for every node at each of `times` (all in one transaction).

    With live=True the newest time also refreshes series_latest and the live-only sources
    (feed health, which has no history) are included.
    """
    if not times:
        return CycleResult(0, 0)
    params = {"times": list(times), "tmin": min(times), "tmax": max(times)}
    written = 0
    for name, source in SOURCES.items():
        if source.live_only and not live:
            continue
        result = conn.execute(text(source_statement(name, latest=live)), params)
        written += max(result.rowcount, 0)
    return CycleResult(len(set(times)), written)


def ensure_series(conn: Connection) -> int:
    """Create the (node, indicator) series for every node and indicator; return how many were new."""
    result = conn.execute(
        text(
            "INSERT INTO series (node_id, indicator_code) SELECT n.node_id, i.code"
            " FROM org_node n CROSS JOIN indicator i ON CONFLICT DO NOTHING"
        )
    )
    return max(result.rowcount, 0)


def seed_indicators(conn: Connection) -> int:
    """Upsert the built-in catalogue so names and definitions follow the code."""
    conn.execute(
        text(
            "INSERT INTO indicator (code, name_en, name_zh, unit, theme, direction, definition,"
            " forecastable, builtin) VALUES (:code, :name_en, :name_zh, :unit, :theme, :direction,"
            " :definition, :forecastable, true) ON CONFLICT (code) DO UPDATE SET"
            " name_en = EXCLUDED.name_en, name_zh = EXCLUDED.name_zh, unit = EXCLUDED.unit,"
            " theme = EXCLUDED.theme, direction = EXCLUDED.direction,"
            " definition = EXCLUDED.definition, forecastable = EXCLUDED.forecastable"
        ),
        [
            {
                "code": i.code,
                "name_en": i.name_en,
                "name_zh": i.name_zh,
                "unit": i.unit,
                "theme": i.theme,
                "direction": i.direction,
                "definition": i.definition,
                "forecastable": i.forecastable,
            }
            for i in INDICATORS
        ],
    )
    return len(INDICATORS)


def time_steps(since: datetime, until: datetime, step: timedelta) -> list[datetime]:
    """Times from `since` (aligned down to the step) to `until`, inclusive, every `step`."""
    epoch = datetime(2000, 1, 1, tzinfo=since.tzinfo)
    start = epoch + ((since - epoch) // step) * step
    times = []
    current = start
    while current <= until:
        times.append(current)
        current += step
    return times
