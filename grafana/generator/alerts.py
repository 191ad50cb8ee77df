"""告警 Alerts and delivery: what fired when, what is firing now, and the history."""

from __future__ import annotations

from grafana.generator.common import (
    COUNT_BAD,
    COUNT_WARN,
    any_of,
    firing_alerts_sql,
    firing_by_severity_sql,
    severity_overrides,
)
from grafana.generator.model import (
    ALL_VALUE,
    GREEN,
    ORANGE,
    RED,
    Board,
    Json,
    TimeWindow,
    query_variable,
)
from grafana.generator.panels import colored, stat, state_timeline, table, timeseries, value_map

UID = "qw-alerts"
FILTER = f"{any_of('customs_id', 'customs')} AND severity IN (${{severity:sqlstring}})"

VARIABLES = [
    query_variable(
        "customs", "直属海关 Customs",
        "SELECT customs_label AS __text, customs_id AS __value FROM reporting.site"
        " GROUP BY customs_id, customs_label ORDER BY customs_id",
        current=[ALL_VALUE], multi=True, include_all=True, all_value="'__all'"),
    {
        "type": "custom", "name": "severity", "label": "级别 Severity",
        "query": "critical,warning,info", "multi": True, "includeAll": True,
        "current": {"text": ["All"], "value": [ALL_VALUE]},
        "options": [],
    },
]  # fmt: skip

FIRING_NOW = firing_by_severity_sql(FILTER)

TIMELINE = f"""
SELECT time, alertname || ' · ' || node_label AS metric, state_code AS value
FROM reporting.alert_history
WHERE $__timeFilter(time) AND {FILTER}
ORDER BY time, metric
"""

PER_HOUR = f"""
SELECT $__timeGroupAlias(time, $__interval, 0), severity AS metric, count(*) AS value
FROM reporting.alert_history
WHERE $__timeFilter(time) AND status = 'firing' AND {FILTER}
GROUP BY 1, 2
ORDER BY 1, 2
"""

FIRING_TABLE = firing_alerts_sql(FILTER)

HISTORY = f"""
SELECT time AS "时间 time",
       status AS "状态 status",
       severity AS "级别 severity",
       alertname AS "告警 alert",
       node_label AS "对象 node",
       value AS "值 value",
       summary AS "摘要 summary"
FROM reporting.alert_history
WHERE time BETWEEN $__timeFrom() AND $__timeTo() AND {FILTER}
ORDER BY time DESC
LIMIT 500
"""

# reporting.alert_history.state_code (sql/0106).
STATES = value_map({
    "0": ("正常 Normal", GREEN), "1": ("待定 Pending", "yellow"), "2": ("告警 Firing", RED),
    "3": ("恢复中 Recovering", ORANGE), "4": ("无数据 NoData", "#8e8e8e"),
    "5": ("错误 Error", "purple"),
})  # fmt: skip

DELIVERY = any_of("customs_id", "customs")
SUCCESS = f"""
SELECT $__timeGroupAlias(time, $__interval, NULL), kind AS metric, 100.0 * avg(ok) AS value
FROM reporting.delivery_attempt
WHERE $__timeFilter(time) AND NOT test AND {DELIVERY}
GROUP BY 1, 2
ORDER BY 1, 2
"""

LATENCY = f"""
SELECT $__timeGroupAlias(time, $__interval, NULL), kind AS metric,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS value
FROM reporting.delivery_attempt
WHERE $__timeFilter(time) AND NOT test AND {DELIVERY}
GROUP BY 1, 2
ORDER BY 1, 2
"""

DEAD_LETTERS = f"""
SELECT time AS "进入死信 dead at",
       channel_name AS "渠道 channel",
       kind AS "类型 kind",
       reason AS "原因 reason",
       alert_count AS "告警数 alerts",
       attempts AS "尝试 attempts",
       group_key AS "分组 group"
FROM reporting.dead_letter
WHERE $__timeFilter(time) AND {DELIVERY}
ORDER BY time DESC
LIMIT 200
"""

CHANNELS = f"""
SELECT name AS "渠道 channel",
       kind AS "类型 kind",
       enabled AS "启用 enabled",
       delivery_failing::int AS "推送失败 failing",
       last_success_at AS "最近成功 last success",
       last_error_at AS "最近失败 last error",
       blocked_until AS "限流至 blocked until"
FROM reporting.channel
WHERE {DELIVERY}
ORDER BY delivery_failing DESC, kind, name
"""


def build() -> Json:
    board = Board(
        UID,
        "告警与推送 Alerts and delivery",
        "Alert state over time, alerts firing now, the alert history, and notification delivery.",
        ["alerts"],
        window=TimeWindow("now-7d"),
        variables=VARIABLES,
    )
    board.row("现在 Now")
    board.add(stat(
        "正在告警 Firing now", "Alerts firing now, by severity.", FIRING_NOW, "short", COUNT_WARN,
        overrides=severity_overrides(),
    ), 8, 6)  # fmt: skip
    per_hour = timeseries(
        "告警触发 Alerts fired per interval",
        "Firing transitions per interval, by severity (stacked).", PER_HOUR, "short", bars=True)  # fmt: skip
    per_hour["interval"] = "1h"
    board.add(per_hour, 16, 6)
    board.row("状态时间线 State timeline")
    board.add(state_timeline(
        "告警状态 Alert states",
        "Each alert (rule and node) over time: pending, firing, recovering, resolved.",
        TIMELINE, [STATES]), 24, 10)  # fmt: skip
    board.row("明细 Details")
    board.add(table("正在告警 Alerts firing", "Alerts firing now, worst first.", FIRING_TABLE), 24, 8)  # fmt: skip
    board.add(table(
        "告警历史 Alert history", "Every firing and resolution in the time range, newest first.",
        HISTORY), 24, 10)  # fmt: skip
    board.row("推送 Delivery")
    board.add(timeseries(
        "推送成功率 Delivery success by channel kind",
        "Share of delivery attempts that succeeded, per channel kind (test sends excluded).",
        SUCCESS, "percent"), 12, 8)  # fmt: skip
    board.add(timeseries(
        "推送延迟 Delivery latency p95 by channel kind",
        "95th percentile of one attempt's duration, per channel kind.", LATENCY, "ms"), 12, 8)  # fmt: skip
    board.add(table(
        "死信 Dead letters",
        "Notifications that used up their retries in the time range, newest first.",
        DEAD_LETTERS), 12, 8)  # fmt: skip
    board.add(table(
        "渠道 Channels", "Every channel and its delivery health; failing ones first.", CHANNELS,
        overrides=[colored("推送失败 failing", COUNT_BAD)]), 12, 8)  # fmt: skip
    return board.build()
