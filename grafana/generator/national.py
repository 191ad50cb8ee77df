"""全国监控大屏 National screen: every site on a map, the key figures, the worst sites, trends."""

from __future__ import annotations

from grafana.generator.bands import with_band
from grafana.generator.common import (
    COUNT_BAD,
    COUNT_WARN,
    NEUTRAL,
    STATUS,
    STATUS_TEXT,
    firing_by_severity_sql,
    series_sql,
    severity_overrides,
)
from grafana.generator.model import Board, Json
from grafana.generator.panels import colored, geomap, stat, table, timeseries

UID = "qw-national"


def _national_stat(title: str, description: str, code: str, unit: str, limits: Json) -> Json:
    sql = series_sql("node_id = 'CN'", (code,))
    panel = stat(title, description, sql, unit, limits, fmt="time_series", sparkline=True)
    panel["options"]["textMode"] = "value"
    return panel


FIRING_BY_SEVERITY = firing_by_severity_sql()

MAP_SQL = f"""
SELECT site_id, site_label, customs_label, lat, lon, status,
       {STATUS_TEXT} AS status_text,
       hazardous_held, overdue, near_deadline, clearance_p50_hours, alerts_firing, lots_on_site
FROM reporting.site_status
WHERE lat IS NOT NULL AND lon IS NOT NULL
ORDER BY status, site_id
"""

WORST_SITES_SQL = f"""
SELECT site_label AS "口岸 site",
       customs_label AS "直属海关 customs",
       status AS "状态 status",
       {STATUS_TEXT} AS "说明 state",
       overdue AS "超期 overdue",
       near_deadline AS "临期 near deadline",
       hazardous_held AS "在场危险品 hazardous held",
       max_overdue_hours AS "最长超期 max overdue (h)",
       clearance_p90_hours AS "通关P90 clearance p90 (h)",
       alerts_firing AS "告警 alerts"
FROM reporting.site_status
ORDER BY status = 3, status DESC, overdue DESC, near_deadline DESC, max_overdue_hours DESC,
         clearance_p90_hours DESC NULLS LAST, site_id
LIMIT 15
"""

MAP_LAYER = {
    "type": "markers",
    "name": "口岸 Sites",
    "config": {
        "showLegend": True,
        "style": {
            "color": {"field": "status", "fixed": "green"},
            "size": {"field": "lots_on_site", "fixed": 6, "min": 4, "max": 16},
            "opacity": 0.8,
            "symbol": {"mode": "fixed", "fixed": "img/icons/marker/circle.svg"},
        },
    },
    "location": {"mode": "coords", "latitude": "lat", "longitude": "lon"},
    "tooltip": True,
}


def build() -> Json:
    board = Board(
        UID,
        "全国监控大屏 National screen",
        "Every site at once: status map, key national figures, the worst sites, trends.",
        ["national"],
    )
    board.row("全国关键指标 Key figures")
    board.add(_national_stat(
        "整体通关时间 Overall clearance time",
        "Mean hours from arrival to release over lots released in the last 24 h, nationally.",
        "overall_release_time_mean_hours", "h", NEUTRAL), 4, 5)  # fmt: skip
    board.add(_national_stat(
        "在场危险品 Hazardous lots held",
        "Hazardous lots at any site now.", "hazardous_lots_held", "short", NEUTRAL), 4, 5)  # fmt: skip
    board.add(_national_stat(
        "超期滞留 Overdue",
        "Hazardous lots still at a site after their storage deadline.",
        "hazardous_overdue", "short", COUNT_BAD), 4, 5)  # fmt: skip
    board.add(_national_stat(
        "临近期限 Near deadline",
        "Hazardous lots past their warning point, not yet overdue.",
        "hazardous_near_deadline", "short", COUNT_WARN), 4, 5)  # fmt: skip
    board.add(stat(
        "告警 Firing alerts by level",
        "Alerts firing now, by severity.", FIRING_BY_SEVERITY, "short", COUNT_WARN,
        overrides=severity_overrides(),
    ), 8, 5)  # fmt: skip
    board.row("口岸状态 Site status")
    board.add(geomap(
        "口岸状态地图 Site status map",
        "Every site coloured by status (green ok, orange near deadline or alert, red overdue or "
        "critical alert, grey no data); marker size is lots on site.", MAP_SQL, MAP_LAYER), 14, 15)  # fmt: skip
    board.add(table(
        "最需关注口岸 Worst sites now",
        "The 15 sites most in need of attention: status, then overdue and near-deadline "
        "hazardous lots, then the longest overdue lot and clearance p90.", WORST_SITES_SQL,
        overrides=[colored("状态 status", STATUS), colored("超期 overdue", COUNT_BAD),
                   colored("临期 near deadline", COUNT_WARN)]), 10, 15)  # fmt: skip
    board.row("全国趋势 National trends")
    trends = [
        ("通关时效趋势 Clearance time trends", "h",
         ("clearance_time_p50_hours", "clearance_time_p90_hours", "overall_release_time_mean_hours"),
         "National clearance time p50/p90 and arrival-to-release mean, hourly."),
        ("危险品趋势 Hazardous goods trends", "short",
         ("hazardous_lots_held", "hazardous_near_deadline", "hazardous_overdue"),
         "Hazardous lots held, near deadline and overdue nationally, hourly."),
    ]  # fmt: skip
    for title, unit, codes, description in trends:
        sql = series_sql("node_id = 'CN'", codes)
        panel = with_band(timeseries(title, description, sql, unit), "'CN'", codes)
        panel.update(timeFrom="7d", interval="1h")
        board.add(panel, 12, 9)
    return board.build()
