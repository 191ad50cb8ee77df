"""Shared pieces of the forecaster tests: lot frames and forecast rules."""

from __future__ import annotations

import json

from sqlalchemy import text

# The stage times a lot row carries after its arrival: all empty on a lot that only arrived.
LATER_STAGE_TIMES = (
    "declared_at",
    "inspection_started_at",
    "inspection_finished_at",
    "released_at",
    "held_at",
    "hold_lifted_at",
)


def add_forecast_rule(engine, indicator: str, threshold: float, horizon: float = 48) -> None:
    """A national site-level forecast rule on ``indicator``, so the cycle watches ``threshold``."""
    spec = {
        "kind": "forecast",
        "indicator": indicator,
        "operator": ">",
        "threshold": threshold,
        "horizon_hours": horizon,
        "name": f"fc_{indicator}",
    }
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO alert_rule (name, node_id, kind, level, indicator_code, severity,"
                " override_policy, spec, origin_node_id, created_by, updated_by)"
                " VALUES (:n, 'CN', 'forecast', 'site', :i, 'warning', 'tighten_only',"
                " CAST(:spec AS jsonb), 'CN', 'test', 'test')"
            ),
            {"n": spec["name"], "i": indicator, "spec": json.dumps(spec)},
        )
