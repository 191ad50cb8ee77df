"""Pieces several dashboards share: SQL fragments, units, status colours, forecast band."""

from __future__ import annotations

from grafana.generator.model import GREEN, GREY, ORANGE, RED, Json, TimeWindow, override, thresholds

# The boards about forecasts (the catalogue, forecast quality) open on a week of history and
# the day ahead, so the band reaches past now; backtests and forecasts change far less often
# than the live boards' figures, so they refresh every 5 minutes, not every minute.
FORECAST_WINDOW = TimeWindow("now-7d", "now+1d", "5m")

# Indicator units (collector/metric_definitions.py) as Grafana unit ids.
UNITS = {"h": "h", "%": "percent", "min": "m", "lots": "short", "lots/h": "short",
         "events/h": "short", "TEU": "short", "feeds": "short"}  # fmt: skip

ALL_SENTINEL = "'__all'"  # a custom all value is sent as written, so it carries its quotes


def any_of(column: str, variable: str) -> str:
    """`column` is one of a multi-value variable's values, or the variable is All (sentinel)."""
    values = f"ARRAY[${{{variable}:sqlstring}}]::text[]"
    return f"('__all' = ANY({values}) OR {column} = ANY({values}))"


def indicators_sql(codes: tuple[str, ...]) -> str:
    return ", ".join(f"'{code}'" for code in codes)


# Time ranges up to this long read the minute points; longer ones the hourly rollup. A panel
# over 30 days of minute points reads ~43,000 rows per series scattered over the heap (the
# points of all series are interleaved by time); the rollup holds 720.
RAW_RANGE = "interval '2 days'"
_RANGE = "$__timeTo()::timestamptz - $__timeFrom()::timestamptz"


def series_sql(where: str, codes: tuple[str, ...] | str, label: str = "indicator_label") -> str:
    """Long-format series (one per `label` value, named by the `metric` column), bucketed by
    $__interval, from reporting.metric or, over ranges longer than RAW_RANGE, from
    reporting.metric_hourly. The range test is a constant, so PostgreSQL runs only one branch.
    `codes` is a tuple of indicator codes or an SQL expression for one."""
    indicators = f"IN ({indicators_sql(codes)})" if isinstance(codes, tuple) else f"= {codes}"
    branch = """SELECT time, {label}, value FROM {view}
    WHERE $__timeFilter(time) AND {where} AND indicator {indicators}
      AND {range} {cmp} {raw}"""
    parts = [
        branch.format(label=label, view=view, where=where, indicators=indicators, range=_RANGE,
                      cmp=cmp, raw=RAW_RANGE)
        for view, cmp in (("reporting.metric", "<="), ("reporting.metric_hourly", ">"))
    ]  # fmt: skip
    return f"""
SELECT $__timeGroupAlias(time, $__interval), {label} AS metric, avg(value) AS value
FROM (
    {parts[0]}
    UNION ALL
    {parts[1]}
) m
GROUP BY 1, 2
ORDER BY 1, 2
"""


def latest_sql(node_sql: str, columns: dict[str, str]) -> str:
    """One row with the latest value of each indicator of one node, as named columns."""
    picks = ",\n       ".join(
        f"max(value) FILTER (WHERE indicator = '{code}') AS \"{name}\""
        for name, code in columns.items()
    )
    return f"""
SELECT {picks}
FROM reporting.latest_status
WHERE node_id = {node_sql}
"""


def firing_by_severity_sql(where: str = "") -> str:
    """One row: how many alerts fire now at each severity (of those matching `where`)."""
    clause = f"WHERE {where}\n" if where else ""
    return f"""
SELECT count(*) FILTER (WHERE severity = 'critical') AS "严重 critical",
       count(*) FILTER (WHERE severity = 'warning') AS "预警 warning",
       count(*) FILTER (WHERE severity = 'info') AS "提示 info"
FROM reporting.alerts
{clause}"""


def firing_alerts_sql(where: str) -> str:
    """The alerts firing now that match `where`, worst first."""
    return f"""
SELECT starts_at AS "开始 since",
       severity AS "级别 severity",
       alertname AS "告警 alert",
       node_label AS "对象 node",
       value AS "值 value",
       summary AS "摘要 summary"
FROM reporting.alerts
WHERE {where}
ORDER BY severity_rank DESC, starts_at DESC
"""


STATUS_TEXT = """CASE status WHEN 0 THEN '正常 OK' WHEN 1 THEN '预警 Warning'
            WHEN 2 THEN '严重 Critical' ELSE '无数据 No data' END"""

COUNT_BAD = thresholds((None, GREEN), (1, RED))
COUNT_WARN = thresholds((None, GREEN), (1, ORANGE))
NEUTRAL = thresholds((None, "blue"))
STATUS = thresholds((None, GREEN), (1, ORANGE), (2, RED), (3, GREY))
# Hours left before a hazardous lot's storage deadline: past it, under a shift, enough.
COUNTDOWN = thresholds((None, RED), (0, ORANGE), (8, GREEN))


def severity_overrides() -> list[Json]:
    """Colours for the columns of `firing_by_severity_sql`: critical red, warning orange."""
    return [
        override("严重 critical", thresholds=COUNT_BAD),
        override("预警 warning", thresholds=COUNT_WARN),
    ]


def unit_sql(column: str) -> str:
    """An indicator's unit as a Grafana unit id; a unit Grafana lacks becomes a suffix."""
    cases = " ".join(f"WHEN '{unit}' THEN '{grafana}'" for unit, grafana in UNITS.items())
    return f"CASE {column} {cases} ELSE 'suffix: ' || {column} END"
