"""直属海关 Customs centre: one directly-affiliated customs, its offices and sites."""

from __future__ import annotations

from grafana.generator.bands import with_band
from grafana.generator.common import (
    COUNT_BAD,
    COUNT_WARN,
    COUNTDOWN,
    NEUTRAL,
    STATUS,
    STATUS_TEXT,
    any_of,
    firing_alerts_sql,
    latest_sql,
    series_sql,
)
from grafana.generator.model import ALL_VALUE, Board, Json, override, query_variable
from grafana.generator.panels import colored, stat, table, timeseries

UID = "qw-customs"
OFFICE = any_of("office_id", "office")

VARIABLES = [
    query_variable(
        "customs", "直属海关 Customs",
        "SELECT customs_label AS __text, customs_id AS __value FROM reporting.site"
        " GROUP BY customs_id, customs_label ORDER BY customs_id",
        current="2200"),
    query_variable(
        "office", "隶属海关 Office",
        "SELECT office_label AS __text, office_id AS __value FROM reporting.site"
        " WHERE customs_id = ${customs:sqlstring} GROUP BY office_id, office_label ORDER BY office_id",
        current=[ALL_VALUE], multi=True, include_all=True, all_value="'__all'"),
    query_variable(
        "indicator", "指标 Indicator",
        "SELECT label AS __text, code AS __value FROM reporting.indicator ORDER BY theme, code",
        current="clearance_time_p50_hours"),
]  # fmt: skip

SITES_SQL = f"""
SELECT site_label AS "口岸 site",
       office_label AS "隶属海关 office",
       status AS "状态 status",
       {STATUS_TEXT} AS "说明 state",
       hazardous_held AS "在场危险品 hazardous held",
       near_deadline AS "临期 near deadline",
       overdue AS "超期 overdue",
       clearance_p50_hours AS "通关P50 clearance p50 (h)",
       clearance_p90_hours AS "通关P90 clearance p90 (h)",
       inspection_backlog AS "查验积压 inspection backlog",
       lots_on_hold AS "扣留 on hold",
       alerts_firing AS "告警 alerts"
FROM reporting.site_status
WHERE customs_id = ${{customs:sqlstring}} AND {OFFICE}
ORDER BY status DESC, overdue DESC, near_deadline DESC, site_id
"""

DEADLINE_SQL = f"""
SELECT site_label AS "口岸 site",
       lot_id AS "批次 lot",
       hazard_class AS "类别 class",
       stage AS "环节 stage",
       hours_to_deadline AS "距期限 hours to deadline",
       deadline_at AS "期限 deadline"
FROM reporting.hazardous_lots
WHERE customs_id = ${{customs:sqlstring}} AND {OFFICE} AND deadline_status <> 'ok'
ORDER BY hours_to_deadline
LIMIT 100
"""

ALERTS_SQL = firing_alerts_sql(
    f"customs_id = ${{customs:sqlstring}} AND (office_id IS NULL OR {OFFICE})"
)

SITE_LEVEL = f"level = 'site' AND customs_id = ${{customs:sqlstring}} AND {OFFICE}"
OFFICE_LEVEL = f"level = 'office' AND customs_id = ${{customs:sqlstring}} AND {OFFICE}"

COMPARE_SQL = series_sql(SITE_LEVEL, "${indicator:sqlstring}", "node_label")
CUSTOMS_TREND_SQL = series_sql("node_id = ${customs:sqlstring}", "${indicator:sqlstring}")

TOTALS = {
    "在场危险品 hazardous held": "hazardous_lots_held",
    "临期 near deadline": "hazardous_near_deadline",
    "超期 overdue": "hazardous_overdue",
    "通关P50 clearance p50 (h)": "clearance_time_p50_hours",
}


def build() -> Json:
    board = Board(
        UID,
        "直属海关 Customs centre",
        "One directly-affiliated customs: its sites' timeliness and detention, alerts firing.",
        ["customs"],
        variables=VARIABLES,
    )
    board.row("关区概况 Customs overview")
    board.add(stat(
        "关区合计 Customs totals",
        "Latest figures for the whole customs (same definitions as every site).",
        latest_sql("${customs:sqlstring}", TOTALS), "none", NEUTRAL, decimals=1,
        overrides=[override("超期 overdue", thresholds=COUNT_BAD),
                   override("临期 near deadline", thresholds=COUNT_WARN)]), 24, 4)  # fmt: skip
    board.add(table(
        "口岸状态 Sites", "Every site of the selected offices, worst first.", SITES_SQL,
        overrides=[colored("状态 status", STATUS), colored("超期 overdue", COUNT_BAD),
                   colored("临期 near deadline", COUNT_WARN)]), 24, 10)  # fmt: skip
    board.row("时效与滞留 Timeliness and detention")
    board.add(timeseries(
        "通关时间P50 Clearance time p50 by office",
        "Median hours from declaration to release over the last 24 h, per office.",
        series_sql(OFFICE_LEVEL, ("clearance_time_p50_hours",), "node_label"),
        "h"), 12, 9)  # fmt: skip
    board.add(timeseries(
        "超期滞留 Overdue hazardous lots by site",
        "Hazardous lots past their storage deadline, per site (stacked).",
        series_sql(SITE_LEVEL, ("hazardous_overdue",), "node_label"),
        "short", bars=True), 12, 9)  # fmt: skip
    board.add(timeseries(
        "各口岸对比 Sites compared: ${indicator}",
        "The indicator chosen above, per site.", COMPARE_SQL, "none"), 12, 9)  # fmt: skip
    trend = timeseries(
        "关区趋势 Customs trend: ${indicator}",
        "The indicator chosen above for the whole customs.",
        CUSTOMS_TREND_SQL,
        "none",
    )
    board.add(with_band(trend, "${customs:sqlstring}", "${indicator:sqlstring}"), 12, 9)
    board.add(table(
        "临期与超期批次 Lots near or past deadline",
        "Hazardous lots past their warning point, soonest deadline first.", DEADLINE_SQL,
        overrides=[colored("距期限 hours to deadline", COUNTDOWN)]), 12, 9)  # fmt: skip
    board.row("告警 Alerts")
    board.add(table(
        "正在告警 Alerts firing", "Alerts firing now anywhere in this customs.", ALERTS_SQL), 24, 8)  # fmt: skip
    return board.build()
