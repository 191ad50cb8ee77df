"""预测质量 Forecast quality: backtest scores, forecast against actual, band coverage, breach
predictions hit and miss, and the series the last forecast run failed or skipped."""

from __future__ import annotations

from grafana.generator.bands import with_band
from grafana.generator.common import COUNT_BAD, COUNT_WARN, FORECAST_WINDOW, NEUTRAL, series_sql
from grafana.generator.model import GREEN, ORANGE, RED, Board, Json, override, query_variable
from grafana.generator.model import thresholds as steps
from grafana.generator.panels import colored, stat, table, timeseries

UID = "qw-forecast"
NODE = "${node:sqlstring}"
INDICATOR = "${indicator:sqlstring}"

VARIABLES = [
    query_variable(
        "node", "节点 Org node",
        "SELECT label AS __text, node_id AS __value FROM reporting.node"
        " ORDER BY array_position(ARRAY['national', 'customs', 'office', 'site'], level), node_id",
        current="CN"),
    query_variable(
        "indicator", "指标 Indicator",
        "SELECT label AS __text, code AS __value FROM reporting.indicator"
        " WHERE state = 'active' AND forecastable ORDER BY theme, code",
        current="clearance_time_p50_hours"),
]  # fmt: skip

# Nominal coverage of Prophet's band is 80 % (docs/forecasting.md): below it the band is too
# narrow, well above it too wide to be useful.
COVERAGE = steps((None, RED), (0.7, ORANGE), (0.8, GREEN))
SCORE = steps((None, RED), (0.5, ORANGE), (0.7, GREEN))

LAST_RUN_SQL = """
SELECT time AS "开始 started",
       seconds AS "耗时 seconds",
       series_total AS "序列 series",
       series_ok AS "成功 ok",
       series_reused AS "复用 reused",
       series_refreshed AS "沿用拟合 refreshed",
       series_skipped AS "跳过 skipped",
       series_failed AS "失败 failed",
       crossings AS "越限预测 crossings",
       lots_scored AS "批次评分 lots scored"
FROM reporting.forecast_run
ORDER BY time DESC
LIMIT 1
"""

FAILURES_SQL = """
SELECT outcome AS "结果 outcome",
       node_label AS "节点 node",
       indicator_label AS "指标 indicator",
       reason AS "原因 reason"
FROM reporting.forecast_failure
WHERE run_id = (SELECT max(run_id) FROM reporting.forecast_run)
ORDER BY outcome, node_id, indicator
"""

DECISIONS_SQL = """
SELECT i.label AS "指标 indicator",
       d.method AS "方法 method",
       d.rule AS "规则 rule",
       d.min_probability AS "最小概率 min probability",
       d.consecutive AS "连续 consecutive",
       d.f1 AS "F1",
       d.false_alarm_episodes_per_site_week AS "误报/口岸周 FA episodes per site-week",
       d.runner_up AS "次优 runner-up",
       d.conformal_factor AS "区间放宽 band widening",
       d.reason AS "理由 reason",
       d.time AS "选定 chosen at"
FROM reporting.forecast_decision d
JOIN reporting.indicator i ON i.code = d.indicator
ORDER BY i.theme, d.indicator
"""

BACKTEST_SQL = """
SELECT kind AS "类型 kind",
       subject AS "对象 subject",
       scope AS "范围 scope",
       method AS "方法 method",
       CASE WHEN chosen THEN '选用 chosen' ELSE '' END AS "选用 chosen",
       horizon_hours AS "时长 horizon (h)",
       precision AS "精确率 precision",
       recall AS "召回率 recall",
       f1 AS "F1",
       false_alarm_episodes_per_site_week AS "误报/口岸周 FA episodes per site-week",
       median_lead_hours AS "提前量 median lead (h)",
       mae AS "MAE",
       coverage AS "区间覆盖率 band coverage"
FROM reporting.backtest_result
WHERE backtest_id = (SELECT max(backtest_id) FROM reporting.backtest_result)
ORDER BY kind, subject, chosen DESC, f1 DESC NULLS LAST, method
"""

# The freshest forecast made before each past hour at the node, beside the hourly actual.
_PAIRS = f"""
    SELECT f.time, f.indicator, a.value AS actual, f.yhat, f.yhat_lower, f.yhat_upper
    FROM (
        SELECT DISTINCT ON (indicator, time) time, indicator, yhat, yhat_lower, yhat_upper
        FROM reporting.forecast_history
        WHERE node_id = {NODE} AND $__timeFilter(time) AND lead_hours >= 0
        ORDER BY indicator, time, run_at DESC
    ) f
    JOIN reporting.metric_hourly a
      ON a.node_id = {NODE} AND a.indicator = f.indicator AND a.time = f.time"""

_INSIDE = "CASE WHEN actual BETWEEN yhat_lower AND yhat_upper THEN 1.0 ELSE 0.0 END"

COVERAGE_BY_INDICATOR_SQL = f"""
SELECT i.label AS "指标 indicator",
       count(*) AS "小时 hours",
       avg({_INSIDE}) AS "区间覆盖率 band coverage",
       avg(abs(actual - yhat)) AS "平均绝对误差 MAE"
FROM ({_PAIRS}
) p
JOIN reporting.indicator i ON i.code = p.indicator
GROUP BY i.theme, i.code, i.label
ORDER BY i.theme, i.code
"""

COVERAGE_OVER_TIME_SQL = f"""
SELECT $__timeGroupAlias(time, $__interval), avg({_INSIDE}) AS "区间覆盖率 band coverage"
FROM ({_PAIRS}
) p
GROUP BY 1
ORDER BY 1
"""

# Lots under the node whose deadline fell in the range, the prediction against the outcome.
_UNDER_NODE = f"{NODE} IN ('CN', customs_id, office_id, site_id)"
_DECIDED = f"outcome <> 'pending' AND {_UNDER_NODE} AND $__timeFilter(deadline_at)"

BREACH_SCORES_SQL = f"""
SELECT count(*) FILTER (WHERE predicted_breach AND outcome = 'breached') AS "命中 hit",
       count(*) FILTER (WHERE predicted_breach AND outcome = 'kept') AS "误报 false alarm",
       count(*) FILTER (WHERE NOT predicted_breach AND outcome = 'breached') AS "漏报 missed",
       count(*) FILTER (WHERE NOT predicted_breach AND outcome = 'kept') AS "正确放行 correct ok",
       count(*) AS "批次 lots"
FROM reporting.breach_outcome
WHERE {_DECIDED}
"""

BREACH_MISSES_SQL = f"""
SELECT deadline_at AS "期限 deadline",
       site_id AS "口岸 site",
       lot_id AS "批次 lot",
       hazard_class AS "类别 class",
       breach_probability AS "预测概率 breach probability",
       time AS "预测时间 predicted at",
       outcome AS "结果 outcome",
       CASE WHEN predicted_breach THEN '误报 false alarm' ELSE '漏报 missed' END AS "判定 verdict"
FROM reporting.breach_outcome
WHERE {_DECIDED} AND predicted_breach <> (outcome = 'breached')
ORDER BY deadline_at DESC
LIMIT 100
"""


def _forecast_against_actual() -> Json:
    panel = timeseries(
        "预测与实际 Forecast against actual: ${indicator}",
        "The indicator at the node against the forecast made before each hour.",
        series_sql(f"node_id = {NODE}", INDICATOR),
        "none",
    )
    return with_band(panel, NODE, INDICATOR)


def build() -> Json:
    board = Board(
        UID,
        "预测质量 Forecast quality",
        "Backtest scores per indicator and chosen rule, forecast against actual, band "
        "coverage, breach predictions hit and miss, the last run's failed and skipped series.",
        ["forecast"],
        window=FORECAST_WINDOW,
        variables=VARIABLES,
    )
    board.row("最近一次预测 Last forecast run")
    board.add(stat(
        "最近运行 Last run", "Outcome counts of the newest forecast cycle.", LAST_RUN_SQL,
        "none", NEUTRAL, overrides=[override("失败 failed", thresholds=COUNT_BAD),
                                    override("跳过 skipped", thresholds=COUNT_WARN)]), 24, 4)  # fmt: skip
    board.add(table(
        "失败与跳过的序列 Failed and skipped series",
        "Series the newest run could not fit (failed: an error) or left out (skipped: too "
        "little data), with the reason.", FAILURES_SQL), 24, 7)  # fmt: skip
    board.row("回测 Backtest")
    board.add(table(
        "在用规则 Decision rule per indicator",
        "The warning method and rule `quaywatch backtest --apply` chose per indicator, its "
        "scores and the runner-up.", DECISIONS_SQL, decimals=2,
        overrides=[colored("F1", SCORE)]), 24, 8)  # fmt: skip
    board.add(table(
        "回测得分 Backtest scores",
        "Every method and rule scored by the newest backtest; the chosen one first per subject.",
        BACKTEST_SQL, decimals=2,
        overrides=[colored("F1", SCORE), colored("区间覆盖率 band coverage", COVERAGE)]), 24, 10)  # fmt: skip
    board.row("预测与实际 Forecast against actual")
    board.add(_forecast_against_actual(), 16, 9)
    board.add(table(
        "区间覆盖率 Band coverage by indicator",
        "Share of past hours whose hourly actual fell inside the band of the forecast made "
        "before it (nominal 0.8), and the mean absolute error of yhat.",
        COVERAGE_BY_INDICATOR_SQL, decimals=2,
        overrides=[colored("区间覆盖率 band coverage", COVERAGE)]), 8, 9)  # fmt: skip
    coverage = timeseries(
        "区间覆盖率趋势 Band coverage over time",
        "Share of this node's series whose actual fell inside the band, per interval; the line "
        "at 0.8 is the band's nominal coverage.", COVERAGE_OVER_TIME_SQL, "percentunit",
        limits=steps((None, RED), (0.8, GREEN)))  # fmt: skip
    board.add(coverage, 24, 7)
    board.row("超期预测 Breach predictions")
    board.add(stat(
        "预测命中 Breach predictions hit and miss",
        "Lots under the node whose storage deadline fell in the range: the newest prediction "
        "before the deadline (breach when P >= 0.5) against whether the lot left in time.",
        BREACH_SCORES_SQL, "short", NEUTRAL,
        overrides=[override("误报 false alarm", thresholds=COUNT_WARN),
                   override("漏报 missed", thresholds=COUNT_BAD)]), 24, 4)  # fmt: skip
    board.add(table(
        "错报批次 Wrong predictions",
        "Lots whose prediction and outcome disagree, latest deadline first.", BREACH_MISSES_SQL,
        decimals=2), 24, 8)  # fmt: skip
    return board.build()
