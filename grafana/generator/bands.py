"""Forecast band and rule thresholds drawn beside a trend: SQL and overrides, for any board.

The band is the freshest forecast made before each hour (reporting.forecast_history, lead >= 0:
in the past it is what was forecast, ahead of now the latest run), drawn as `forecast_lower`
stacked invisibly with `forecast_band` (upper - lower) on top, so the fill spans lower..upper
(the schema's object-typed override values rule out fillBelowTo). Thresholds come from
reporting.rule_threshold: one flat line per rule kind (threshold, forecast) at the node.
Override matchers need names known when the JSON is written: a single-indicator panel uses
fixed names, a panel of several indicators prefixes them with the indicator code.
"""

from __future__ import annotations

from grafana.generator.model import RED, Json, override, target

FORECAST, LOWER, BAND = "预测 forecast", "forecast_lower", "forecast_band"
THRESHOLD, FORECAST_THRESHOLD = "阈值 threshold", "预测阈值 forecast threshold"
NAMES = (FORECAST, LOWER, BAND, THRESHOLD, FORECAST_THRESHOLD)

NOTE = (
    "预测区间 Forecast band: the shaded band spans the forecaster's lower..upper bound for each "
    "hour (the freshest run before it), the dashed line is its yhat; red lines are the "
    "threshold and forecast rules at this node, where one exists."
)


def _codes_filter(codes: tuple[str, ...] | str) -> str:
    if isinstance(codes, str):
        return f"= {codes}"
    return "IN (" + ", ".join(f"'{code}'" for code in codes) + ")"


def band_sql(node_sql: str, codes: tuple[str, ...] | str) -> str:
    """Long-format forecast and threshold series of `codes` (a tuple, or an SQL expression for
    one indicator) at the node `node_sql`. Names carry the code only for a tuple of codes."""
    prefix = "indicator || ' ' || " if isinstance(codes, tuple) else ""
    where = f"node_id = {node_sql} AND indicator {_codes_filter(codes)}"
    return f"""
SELECT time, metric, value
FROM (
    SELECT time,
           {prefix}unnest(ARRAY['{FORECAST}', '{LOWER}', '{BAND}']) AS metric,
           unnest(ARRAY[yhat, yhat_lower, yhat_upper - yhat_lower]) AS value
    FROM (
        SELECT DISTINCT ON (indicator, time) time, indicator, yhat, yhat_lower, yhat_upper
        FROM reporting.forecast_history
        WHERE {where} AND $__timeFilter(time) AND lead_hours >= 0
        ORDER BY indicator, time, run_at DESC
    ) f
    UNION ALL
    SELECT edge.time,
           {prefix}CASE kind WHEN 'forecast' THEN '{FORECAST_THRESHOLD}' ELSE '{THRESHOLD}' END,
           th.threshold
    FROM (
        SELECT indicator, kind,
               CASE WHEN bool_and(direction = 'below') THEN max(threshold)
                    ELSE min(threshold) END AS threshold
        FROM reporting.rule_threshold
        WHERE {where}
        GROUP BY indicator, kind
    ) th
    CROSS JOIN (VALUES ($__timeFrom()::timestamptz), ($__timeTo()::timestamptz)) edge (time)
) series
ORDER BY 1, 2
"""


def _styles(prefix: str) -> list[Json]:
    band = {"mode": "normal", "group": f"forecast{prefix.strip() and '-' + prefix.strip()}"}
    hidden = {"legend": True, "tooltip": True, "viz": False}
    red = {"mode": "fixed", "fixedColor": RED}
    return [
        override(
            prefix + LOWER,
            custom_stacking=band,
            color={"mode": "fixed", "fixedColor": "transparent"},
            custom_hideFrom=hidden,
        ),
        override(
            prefix + BAND,
            custom_stacking=band,
            color={"mode": "fixed", "fixedColor": "rgba(31, 120, 193, 0.6)"},
            custom_lineStyle={"fill": "dot", "dash": [2, 6]},
            custom_hideFrom={"legend": False, "tooltip": True, "viz": False},
        ),
        override(prefix + FORECAST, custom_lineStyle={"fill": "dash", "dash": [10, 10]}),
        override(prefix + THRESHOLD, color=red, custom_lineStyle={"fill": "dash", "dash": [4, 4]}),
        override(
            prefix + FORECAST_THRESHOLD,
            color={"mode": "fixed", "fixedColor": "purple"},
            custom_lineStyle={"fill": "dash", "dash": [4, 4]},
        ),  # fmt: skip
    ]


def band_overrides(codes: tuple[str, ...] | None = None) -> list[Json]:
    """Overrides styling band_sql's series: one set per code, or the fixed names."""
    if codes is None:
        return _styles("")
    return [o for code in codes for o in _styles(f"{code} ")]


def with_band(panel: Json, node_sql: str, codes: tuple[str, ...] | str) -> Json:
    """Add band_sql as target B of a timeseries panel, with its styles and a note."""
    panel["targets"].append(target(band_sql(node_sql, codes), ref="B"))
    named = codes if isinstance(codes, tuple) else None
    panel["fieldConfig"]["overrides"] += band_overrides(named)
    panel["description"] = f"{panel['description']} {NOTE}"
    return panel
