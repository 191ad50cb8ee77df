"""Compute indicator values for every node of the tree at one or more times, in the database.

One statement per source: the source's rows are joined with the batch of times, aggregated with
GROUPING SETS (site, office, customs, national) using the definitions in metric_definitions, and
upserted into metric_point, so re-running a time is idempotent. Nodes without rows get the
indicator's empty value (0 for counts), or no point where "no data" is the honest answer.
User-defined indicators (collector/indicators/, compiled from stored specs) are more columns of
the same statements, with their filter values as bound parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from collector.indicators.event_source import EVENTS, span_params
from collector.indicators.store import upsert_catalogue
from collector.metric_definitions import INDICATORS, SOURCES, Indicator, Source

# The built-ins' sources and those only specs read (no built-in has one of them).
ALL_SOURCES: dict[str, Source] = {**SOURCES, EVENTS.name: EVENTS}

_NODE = (
    "CASE WHEN GROUPING(c.site_id) = 0 THEN c.site_id WHEN GROUPING(c.office_id) = 0 "
    "THEN c.office_id WHEN GROUPING(c.customs_id) = 0 THEN c.customs_id ELSE 'CN' END"
)


def aggregate_sql(source: Source, indicators: Sequence[Indicator]) -> str:
    """The CTEs g (times), c (candidate rows) and agg (one row per time and node, one column
    c<n> per indicator): one pass over the source's rows serves every indicator given."""
    aggregates = ",\n       ".join(f"{i.expr} AS c{n}" for n, i in enumerate(indicators))
    columns = ", ".join("s." + c.strip() for c in source.columns.split(","))
    return f"""
WITH g AS (SELECT DISTINCT t FROM unnest(CAST(:times AS timestamptz[])) AS g(t)),
c AS MATERIALIZED (
    SELECT {columns}, a.office_id, a.customs_id, sn.site_type
    FROM {source.table} s JOIN site_ancestry a ON a.site_id = s.site_id
    JOIN org_node sn ON sn.node_id = s.site_id
    WHERE {source.candidates}
),
agg AS (
    SELECT g.t, {_NODE} AS node_id,
       {aggregates}
    FROM g JOIN c ON {source.member}
    GROUP BY g.t, ROLLUP (c.customs_id, c.office_id, c.site_id)
)"""


def _source_sql(source: Source, indicators: Sequence[Indicator], latest: bool) -> str:
    values = ", ".join(
        f"('{i.code}', "
        + (f"coalesce(agg.c{n}, {i.empty})" if i.empty is not None else f"agg.c{n}")
        + f"::float8, {int(i.version) if i.version is not None else 'NULL'}::int, "
        + (f"CAST(:{i.code}__scope AS text))" if i.scope is not None else "NULL::text)")
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
    return f"""{aggregate_sql(source, indicators)},
points AS (
    SELECT g.t AS time, s.series_id, v.value, v.version
    FROM g CROSS JOIN org_node n
    LEFT JOIN agg ON agg.t = g.t AND agg.node_id = n.node_id
    CROSS JOIN LATERAL (VALUES {values}) AS v(code, value, version, scope)
    JOIN series s ON s.node_id = n.node_id AND s.indicator_code = v.code
    WHERE v.value IS NOT NULL AND (v.scope IS NULL OR n.path @> ARRAY[v.scope])
){upsert_latest}
INSERT INTO metric_point (time, series_id, value, spec_version)
SELECT time, series_id, value, version FROM points
ON CONFLICT (series_id, time) DO UPDATE SET value = EXCLUDED.value,
    spec_version = EXCLUDED.spec_version
"""


@lru_cache(maxsize=64)
def source_statement(
    source_name: str, latest: bool, extra: tuple[Indicator, ...] = (), builtins: bool = True
) -> str:
    """The statement for one source: the built-ins of the source (unless builtins=False),
    then `extra` (user-defined indicators of that source, in order)."""
    source = ALL_SOURCES[source_name]
    indicators = [i for i in INDICATORS if builtins and i.source == source_name]
    return _source_sql(source, indicators + [i for i in extra if i.source == source_name], latest)


def bound_params(indicators: Sequence[Indicator]) -> dict[str, Any]:
    """The indicators' bound values, the owner node of each scoped one (`<code>__scope`) and
    the window the events statement reads."""
    scopes = {f"{i.code}__scope": i.scope for i in indicators if i.scope is not None}
    values = {name: value for i in indicators for name, value in i.params}
    return {**values, **scopes, **span_params(indicators)}


@dataclass(frozen=True)
class CycleResult:
    times: int
    points: int


def compute(
    conn: Connection,
    times: Sequence[datetime],
    live: bool = False,
    extra: Sequence[Indicator] = (),
    builtins: bool = True,
) -> CycleResult:
    """Write every built-in indicator (unless builtins=False), and the `extra` ones, for every
    node at each of `times` (all in one transaction).

    With live=True the newest time also refreshes series_latest and the live-only sources
    (feed health, which has no history) are included.
    """
    if not times:
        return CycleResult(0, 0)
    times_params = {"times": list(times), "tmin": min(times), "tmax": max(times)}
    written = 0
    for name, source in ALL_SOURCES.items():
        if source.live_only and not live:
            continue
        mine = tuple(i for i in extra if i.source == name)
        own = [i for i in INDICATORS if builtins and i.source == name]
        if not own and not mine:
            continue
        params = {**times_params, **bound_params([*own, *mine])}
        result = conn.execute(text(source_statement(name, live, mine, builtins)), params)
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
    upsert_catalogue(conn, INDICATORS, builtin=True)
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
