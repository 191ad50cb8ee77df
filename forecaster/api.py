"""The forecaster's HTTP reads: latest forecasts, predicted threshold crossings, lot breach
predictions. Every route needs the ``read`` scope and shows only the token's subtree
(quaywatch.http_api: the token's node in the node's ``org_node.path``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from sqlalchemy import text

from quaywatch.auth import require
from quaywatch.errors import ApiError
from quaywatch.http_api import float_arg, jsonable, node_arg, visible_node
from quaywatch.web import app_engine

bp = Blueprint("forecaster", __name__, url_prefix="/api/v1")

MAX_LIMIT = 10_000


_FORECAST_SQL = """
SELECT m.series_id, m.run_id, m.fitted_at, m.history_end, m.n_points
FROM series s JOIN forecast_model m ON m.series_id = s.series_id
WHERE s.node_id = :n AND s.indicator_code = :i
"""


@bp.get("/forecasts/<node_id>/<indicator>")
@require("read")
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
    return body


_CROSSINGS_SQL = """
SELECT DISTINCT ON (c.series_id, c.threshold, c.direction)
       s.node_id, s.indicator_code AS indicator, c.run_id, c.computed_at, c.threshold,
       c.direction, c.crossing_at, c.lead_hours, c.probability, c.rule
FROM forecast_crossing c
JOIN series s ON s.series_id = c.series_id
JOIN org_node n ON n.node_id = s.node_id
WHERE :root = ANY (n.path)
  AND c.computed_at > now() - make_interval(secs => :seconds)
  AND (CAST(:indicator AS text) IS NULL OR s.indicator_code = :indicator)
ORDER BY c.series_id, c.threshold, c.direction, c.computed_at DESC
"""


@bp.get("/forecasts/crossings")
@require("read")
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
@require("read")
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
