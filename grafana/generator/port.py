"""口岸 Port: one site's hazardous lots, detention, dwell, timeliness and feed health."""

from __future__ import annotations

from grafana.generator.bands import with_band
from grafana.generator.common import (
    COUNT_BAD,
    COUNT_WARN,
    COUNTDOWN,
    NEUTRAL,
    latest_sql,
    series_sql,
)
from grafana.generator.model import (
    ORANGE,
    RED,
    Board,
    Json,
    override,
    query_variable,
    sql_annotation,
    thresholds,
)
from grafana.generator.panels import colored, stat, table, timeseries

UID = "qw-port"
SITE_ID = "${site:sqlstring}"
SITE = f"node_id = {SITE_ID}"

VARIABLES = [
    query_variable(
        "customs", "直属海关 Customs",
        "SELECT customs_label AS __text, customs_id AS __value FROM reporting.site"
        " GROUP BY customs_id, customs_label ORDER BY customs_id",
        current="2200", include_all=True),
    query_variable(
        "site", "口岸 Site",
        "SELECT site_label AS __text, site_id AS __value FROM reporting.site"
        " WHERE customs_id IN (${customs:sqlstring}) ORDER BY site_id",
        current="2201-YANGSHAN"),
]  # fmt: skip

ANNOTATIONS = [
    ("告警 Alerts", "red", """
SELECT time,
       CASE status WHEN 'firing' THEN '告警 firing: ' WHEN 'resolved' THEN '恢复 resolved: '
                   ELSE status || ': ' END
           || alertname || coalesce(' — ' || nullif(summary, ''), '') AS text,
       severity || ',' || status AS tags
FROM reporting.alert_history
WHERE $__timeFilter(time) AND site_id = ${site:sqlstring}
ORDER BY time
"""),
    ("事件 Holds and deadlines", "orange", """
SELECT time, text, kind AS tags
FROM reporting.site_events
WHERE $__timeFilter(time) AND site_id = ${site:sqlstring}
ORDER BY time
"""),
]  # fmt: skip

LOTS_SQL = """
SELECT lot_id AS "批次 lot",
       hazard_class AS "类别 class",
       un_number AS "UN",
       stage AS "环节 stage",
       CASE WHEN on_hold THEN '扣留 hold' ELSE '' END AS "扣留 hold",
       arrived_at AS "到港 arrived",
       dwell_hours AS "已滞留 dwell (h)",
       limit_hours AS "限期 limit (h)",
       deadline_at AS "期限 deadline",
       hours_to_deadline AS "距期限 hours to deadline"
FROM reporting.hazardous_lots
WHERE site_id = ${site:sqlstring}
ORDER BY hours_to_deadline
"""

FEEDS_SQL = """
SELECT feed_id AS "数据源 feed",
       enabled AS "启用 enabled",
       last_polled_at AS "最近拉取 last poll",
       last_ok_at AS "最近成功 last ok",
       consecutive_failures AS "连续失败 failures",
       events_total AS "事件总数 events"
FROM reporting.feed_health
WHERE site_id = ${site:sqlstring}
ORDER BY feed_id
"""

FIGURES = {
    "在场危险品 hazardous held": "hazardous_lots_held",
    "临期 near deadline": "hazardous_near_deadline",
    "超期 overdue": "hazardous_overdue",
    "扣留 on hold": "lots_on_hold",
    "通关P50 clearance p50 (h)": "clearance_time_p50_hours",
    "数据静默 feed silence (min)": "feed_silence_minutes",
}

# The medium storage tier (classes 3, 4.1, 5.1, 6.1 II/III, 8 I/II): warn at 70 % of 120 h.
DWELL_LIMITS = thresholds((None, "green"), (84, ORANGE), (120, RED))


def _trend(title: str, description: str, codes: tuple[str, ...], unit: str,
           limits: Json | None = None) -> Json:  # fmt: skip
    """The site's series of `codes` with their forecast band and rule thresholds."""
    panel = timeseries(title, description, series_sql(SITE, codes), unit, limits=limits)
    return with_band(panel, SITE_ID, codes)


def build() -> Json:
    board = Board(
        UID,
        "口岸 Port",
        "One site: held hazardous lots with their deadline countdown, detention and dwell, "
        "timeliness and feed health, with alerts and holds as annotations.",
        ["port"],
        variables=VARIABLES,
        annotations=[sql_annotation(name, sql, color) for name, color, sql in ANNOTATIONS],
    )
    board.row("当前 Now")
    board.add(stat(
        "口岸现况 Site now", "Latest values at this site.",
        latest_sql("${site:sqlstring}", FIGURES), "none", NEUTRAL, decimals=1,
        overrides=[override("超期 overdue", thresholds=COUNT_BAD),
                   override("临期 near deadline", thresholds=COUNT_WARN)]), 24, 4)  # fmt: skip
    board.add(table(
        "在场危险品批次 Hazardous lots held",
        "Every hazardous lot still at the site, soonest storage deadline first; the countdown "
        "is red once the deadline has passed.", LOTS_SQL,
        overrides=[colored("距期限 hours to deadline", COUNTDOWN)]), 24, 9)  # fmt: skip
    board.row("滞留 Detention and dwell")
    board.add(_trend(
        "危险品滞留 Hazardous detention",
        "Hazardous lots held, near deadline and overdue. The red line at 1: any overdue lot "
        "breaches the storage rules.",
        ("hazardous_lots_held", "hazardous_near_deadline",
         "hazardous_overdue"),
        "short", limits=thresholds((None, "green"), (1, RED))), 12, 9)  # fmt: skip
    board.add(_trend(
        "危险品滞留时长 Hazardous dwell",
        "Longest and p90 time on site of held hazardous lots. Lines at 84 h and 120 h: the "
        "warning point and limit of the medium storage tier.",
        ("hazardous_dwell_max_hours",
         "hazardous_dwell_p90_hours"),
        "h", limits=DWELL_LIMITS), 12, 9)  # fmt: skip
    board.row("时效 Timeliness")
    board.add(_trend(
        "通关与查验时效 Clearance and inspection time",
        "Declaration to release (p50, p90) and inspection duration (p50, p90) over lots "
        "finished in the 24 h before each point.",
        ("clearance_time_p50_hours",
         "clearance_time_p90_hours",
         "inspection_duration_p50_hours",
         "inspection_duration_p90_hours"),
        "h"), 12, 9)  # fmt: skip
    board.add(_trend(
        "吞吐 Throughput",
        "Lots arrived, released and removed in the hour before each point.",
        ("arrivals_per_hour", "releases_per_hour",
         "removals_per_hour"),
        "short"), 12, 9)  # fmt: skip
    board.row("数据质量 Feed health")
    board.add(_trend(
        "数据到达 Event flow",
        "Events per hour, minutes since the last event (capped at 120) and the share of events "
        "received over 15 minutes late.",
        ("events_per_hour", "feed_silence_minutes",
         "late_event_share"),
        "short"), 12, 8)  # fmt: skip
    board.add(table(
        "数据源 Station feeds", "Feeds the collector pulls for this site, and their health.",
        FEEDS_SQL, overrides=[colored("连续失败 failures", COUNT_BAD)]), 12, 8)  # fmt: skip
    return board.build()
