"""指标目录 Indicator catalogue: every active indicator at one org node, read from the catalogue.

Nothing here names an indicator: the `$indicator` options are the active rows of
reporting.indicator (filtered by `$theme`), the trend panel repeats once per selected
indicator, and each copy takes its unit from the catalogue through Grafana's "config from query
results" transformation. An indicator defined or retired through the API appears or disappears
on the next dashboard load, with no regeneration.
"""

from __future__ import annotations

from grafana.generator.bands import with_band
from grafana.generator.common import ALL_SENTINEL, FORECAST_WINDOW, any_of, series_sql, unit_sql
from grafana.generator.model import ALL_VALUE, Board, Json, query_variable, target
from grafana.generator.panels import table, timeseries

UID = "qw-indicators"
NODE = "${node:sqlstring}"
INDICATOR = "${indicator:sqlstring}"

# Org nodes from the top down, so the national centre is the first option.
LEVEL_ORDER = "array_position(ARRAY['national', 'customs', 'office', 'site'], level)"

VARIABLES = [
    query_variable(
        "theme", "主题 Theme",
        "SELECT DISTINCT theme AS __text, theme AS __value FROM reporting.indicator"
        " WHERE state = 'active' ORDER BY 1",
        current=[ALL_VALUE], multi=True, include_all=True, all_value=ALL_SENTINEL),
    query_variable(
        "node", "节点 Org node",
        f"SELECT label AS __text, node_id AS __value FROM reporting.node"
        f" ORDER BY {LEVEL_ORDER}, node_id",
        current="CN"),
    query_variable(
        "indicator", "指标 Indicator",
        "SELECT label AS __text, code AS __value FROM reporting.indicator"
        f" WHERE state = 'active' AND {any_of('theme', 'theme')} ORDER BY theme, code",
        current=[ALL_VALUE], multi=True, include_all=True, all_value=ALL_SENTINEL),
]  # fmt: skip

LATEST_SQL = f"""
SELECT i.theme AS "主题 theme",
       i.label AS "指标 indicator",
       l.value AS "最新值 value",
       i.unit AS "单位 unit",
       i.direction AS "方向 direction",
       th.rules AS "规则阈值 rule thresholds",
       l.time AS "时间 at"
FROM reporting.indicator i
LEFT JOIN reporting.latest_status l ON l.indicator = i.code AND l.node_id = {NODE}
LEFT JOIN (
    SELECT indicator,
           string_agg(kind || ' ' || operator || ' ' || threshold::text, '; '
                      ORDER BY kind, threshold) AS rules
    FROM reporting.rule_threshold
    WHERE node_id = {NODE}
    GROUP BY indicator
) th ON th.indicator = i.code
WHERE i.state = 'active' AND {any_of("i.theme", "theme")}
ORDER BY i.theme, i.code
"""

UNIT_SQL = f"""
SELECT {unit_sql("unit")} AS unit
FROM reporting.indicator
WHERE code = {INDICATOR}
"""

# The unit comes from target C and applies to every numeric field; C itself is not drawn.
UNIT_FROM_CATALOGUE = {
    "id": "configFromData",
    "options": {"configRefId": "C", "mappings": [{"fieldName": "unit", "handlerKey": "unit"}]},
}


def trend_panel() -> Json:
    """One copy per selected indicator: its series at the node, forecast band, thresholds."""
    panel = timeseries(
        "${indicator:text}",
        "The indicator at the selected node (minute points up to 2 days, the hourly rollup "
        "beyond), in the catalogue's unit.",
        series_sql(f"node_id = {NODE}", INDICATOR),
        "none",
    )
    with_band(panel, NODE, INDICATOR)
    panel["targets"].append(target(UNIT_SQL, "table", "C"))
    panel.update(repeat="indicator", repeatDirection="h", maxPerRow=3,
                 transformations=[UNIT_FROM_CATALOGUE])  # fmt: skip
    return panel


def build() -> Json:
    board = Board(
        UID,
        "指标目录 Indicator catalogue",
        "Every active indicator at one org node: latest values with direction and rule "
        "thresholds, and a trend with forecast band per indicator.",
        ["indicators"],
        window=FORECAST_WINDOW,
        variables=VARIABLES,
    )
    board.row("最新值 Latest values")
    board.add(table(
        "全部指标最新值 Every indicator now",
        "The latest value of every active indicator of the selected themes at the node, its "
        "unit and direction (higher_is_worse, higher_is_better, neutral), and the threshold "
        "and forecast rules that apply there.", LATEST_SQL), 24, 12)  # fmt: skip
    board.row("趋势 Trends")
    board.add(trend_panel(), 8, 8)
    return board.build()
