"""The forecaster's HTTP reads: latest forecasts, predicted threshold crossings, lot breach
predictions, and the warning champion per indicator. Every route needs the ``read`` scope;
series routes show only the token's subtree (quaywatch.http.support: the token's node in the
node's ``org_node.path``), decisions are national (one per indicator) and visible to all."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from sqlalchemy import text

from quaywatch.errors import ApiError
from quaywatch.http.routes import allow
from quaywatch.http.support import NODE, Param, float_arg, jsonable, node_arg, visible_node
from quaywatch.web import app_engine

bp = Blueprint("forecaster", __name__, url_prefix="/api/v1")

MAX_LIMIT = 10_000


_FORECAST_SQL = """
SELECT m.series_id, m.run_id, m.fitted_at, m.history_end, m.n_points
FROM series s JOIN forecast_model m ON m.series_id = s.series_id
WHERE s.node_id = :n AND s.indicator_code = :i
"""


@bp.get("/forecasts/<node_id>/<indicator>")
@allow("read")
def get_forecast(node_id: str, indicator: str) -> Any:
    """The latest forecast of one series: run, fit facts, and one row per target hour."""
    with app_engine().connect() as conn:
        visible_node(conn, node_id)
        model = conn.execute(text(_FORECAST_SQL), {"n": node_id, "i": indicator}).mappings().first()
        if model is None:
            raise ApiError(404, "Not found", f"no forecast for {indicator!r} at {node_id!r}")
        rows = conn.execute(
            text(
                "SELECT ds, yhat, yhat_lower, yhat_upper FROM forecast"
                " WHERE series_id = :s AND run_id = :r ORDER BY ds"
            ),
            {"s": model["series_id"], "r": model["run_id"]},
        ).mappings()
        body = {"node_id": node_id, "indicator": indicator, **jsonable(model)}
        body["rows"] = jsonable(list(rows))
        body["champion"] = _champions(conn, indicator).get(indicator, _DEFAULT_CHAMPION)
    return body


# What an indicator without a forecast_decision row publishes (decision.DEFAULT_RULE).
_DEFAULT_CHAMPION: dict[str, Any] = {
    "method": "prophet",
    "rule": "yhat",
    "scores": None,
    "reason": "no applied backtest: the default yhat rule",
}
_SCORES = "f1 precision recall false_alarm_episodes_per_site_week median_lead_hours".split()
_DECISIONS_SQL = f"""
SELECT indicator_code, method, rule, min_probability, consecutive, false_alarm_budget,
       backtest_id, chosen_at, reason, conformal_factor, runner_up,
       {", ".join(_SCORES)}, {", ".join("runner_up_" + c for c in _SCORES)}
FROM forecast_decision
WHERE CAST(:indicator AS text) IS NULL OR indicator_code = :indicator
ORDER BY indicator_code
"""


def _champions(conn: Any, indicator: str | None) -> dict[str, dict[str, Any]]:
    """Per indicator code: champion method, rule, scores, runner-up and why."""
    out = {}
    for row in conn.execute(text(_DECISIONS_SQL), {"indicator": indicator}).mappings():
        r = jsonable(dict(row))
        scores = {c: r.pop(c) for c in _SCORES}
        runner = {c: r.pop("runner_up_" + c) for c in _SCORES}
        name = r.pop("runner_up")
        # A seasonal naive has one rule, yhat, and is named by its method; Prophet and a blend
        # (``blend_168h``) keep the rule they were chosen with. By prefix, not by importing
        # ``decision.SEASONAL_NAIVE``: that would load pandas into the web process.
        naive = r["method"].startswith("seasonal_naive_")
        r["rule"] = r["method"] if naive else r["rule"]
        r["scores"] = scores if scores["f1"] is not None else None
        r["runner_up"] = {"method": name, "scores": runner} if name else None
        out[r.pop("indicator_code")] = r
    return out


@bp.get("/forecasts/decisions")
@allow("read", Param("indicator"))
def list_decisions() -> Any:
    """Each indicator's warning champion from the last applied backtest: method (``prophet``,
    a seasonal-naive baseline or a blend of Prophet with a baseline), rule, scores, the
    runner-up's scores, why it won, and the conformal widening of Prophet's band. Query:
    ``indicator``."""
    with app_engine().connect() as conn:
        champions = _champions(conn, request.args.get("indicator"))
    return {"items": [{"indicator": code, **c} for code, c in champions.items()]}


_CROSSINGS_SQL = """
SELECT DISTINCT ON (c.series_id, c.threshold, c.direction)
       s.node_id, s.indicator_code AS indicator, c.run_id, c.computed_at, c.threshold,
       c.direction, c.crossing_at, c.lead_hours, c.probability, c.rule,
       coalesce(d.method, 'prophet') AS champion_method, d.f1 AS champion_f1,
       d.precision AS champion_precision, d.recall AS champion_recall,
       d.false_alarm_episodes_per_site_week AS champion_false_alarm_episodes_per_site_week,
       d.median_lead_hours AS champion_median_lead_hours
FROM forecast_crossing c
JOIN series s ON s.series_id = c.series_id
LEFT JOIN forecast_decision d ON d.indicator_code = s.indicator_code
JOIN org_node n ON n.node_id = s.node_id
WHERE :root = ANY (n.path)
  AND c.computed_at > now() - make_interval(secs => :seconds)
  AND (CAST(:indicator AS text) IS NULL OR s.indicator_code = :indicator)
ORDER BY c.series_id, c.threshold, c.direction, c.computed_at DESC
"""


@bp.get("/forecasts/crossings")
@allow(
    "read",
    NODE,
    Param("indicator"),
    Param("predicted", "boolean", "only rows with a crossing time"),
    Param("hours", "number", "how old a run may be (default 2)", 0.25, 24 * 30),
    Param("limit", "number", "at most this many rows (default 1000)", 1, MAX_LIMIT),
)
def list_crossings() -> Any:
    """The newest predicted crossing per series and threshold in the subtree.

    Query: ``node`` (default: the token's node), ``indicator``, ``predicted=true`` (only rows
    with a crossing time), ``hours`` (how far back a run may be; default 2, the alerter's
    ``max_forecast_age``), ``limit``.
    """
    with app_engine().connect() as conn:
        root = node_arg(conn)
        hours = float_arg("hours", 2.0, 0.25, 24 * 30)
        limit = int(float_arg("limit", 1000, 1, MAX_LIMIT))
        params = {"root": root, "seconds": hours * 3600, "indicator": request.args.get("indicator")}
        rows = jsonable(list(conn.execute(text(_CROSSINGS_SQL), params).mappings()))
    if request.args.get("predicted") == "true":
        rows = [r for r in rows if r["crossing_at"] is not None]
    for r in rows:  # at most a few thousand rows, already in memory for the sort below
        scores = {c: r.pop("champion_" + c) for c in _SCORES}
        method = r.pop("champion_method")
        r["champion"] = {"method": method, "scores": scores if scores["f1"] is not None else None}
    rows.sort(key=lambda r: (r["crossing_at"] is None, r["crossing_at"] or "", r["node_id"]))
    return {"node": root, "items": rows[:limit]}


_PREDICTIONS_SQL = """
SELECT l.lot_id, l.site_id, l.hazard_class, l.un_number, l.stage, l.arrived_at, l.deadline_at,
       p.computed_at, p.breach_probability, p.predicted_breach_at, p.predicted_removal_at,
       p.congestion
FROM lot l
JOIN org_node n ON n.node_id = l.site_id
JOIN LATERAL (
    SELECT * FROM lot_breach_prediction bp
    WHERE (bp.site_id, bp.lot_id, bp.visit_no) = (l.site_id, l.lot_id, l.visit_no)
    ORDER BY bp.computed_at DESC LIMIT 1) p ON true
WHERE l.hazard_class IS NOT NULL AND l.removed_at IS NULL AND :root = ANY (n.path)
  AND p.breach_probability >= :min_probability
ORDER BY p.breach_probability DESC, l.deadline_at
LIMIT :limit
"""


@bp.get("/lots/breach-predictions")
@allow(
    "read",
    NODE,
    Param("min_probability", "number", "default 0", 0, 1),
    Param("limit", "number", "at most this many rows (default 1000)", 1, MAX_LIMIT),
)
def list_breach_predictions() -> Any:
    """The newest breach prediction of each held hazardous lot in the subtree, most likely
    first. Query: ``node``, ``min_probability`` (default 0), ``limit``."""
    with app_engine().connect() as conn:
        params = {
            "root": node_arg(conn),
            "min_probability": float_arg("min_probability", 0.0, 0.0, 1.0),
            "limit": int(float_arg("limit", 1000, 1, MAX_LIMIT)),
        }
        rows = conn.execute(text(_PREDICTIONS_SQL), params).mappings()
        return {"node": params["root"], "items": jsonable(list(rows))}
