from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from conftest import make_token
from forecaster.cycle import CycleOptions, run_cycle

QIANWAN, YANGSHAN = "4202-QIANWAN", "2201-YANGSHAN"  # under customs 4200 and 2200


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def forecasted(engine, settings, write_hourly, write_lot):
    """Two sites in different customs districts, each with a forecast, a crossing and lots;
    times are real (the API reads crossings of the last hours)."""
    now = pd.Timestamp(datetime.now(UTC))
    end = now.floor("h")
    t = np.arange(10 * 24)
    rising = 2 + 0.1 * t + 1.5 * np.sin(2 * np.pi * t / 24)
    for site in (QIANWAN, YANGSHAN):
        write_hourly(site, "hazardous_lots_held", rising, end)
        write_lot(f"{site}-old", site, "3", now - pd.Timedelta(hours=100))
        for i in range(5):
            arrived = now - pd.Timedelta(days=10, hours=-i)
            write_lot(
                f"{site}-done-{i}",
                site,
                "3",
                arrived,
                removed_at=arrived + pd.Timedelta(hours=30 + 20 * i),
            )
    spec = {
        "kind": "forecast",
        "indicator": "hazardous_lots_held",
        "operator": ">",
        "threshold": 30,
        "horizon_hours": 48,
        "name": "held_forecast",
    }
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO alert_rule (name, node_id, kind, level, indicator_code, severity,"
                " override_policy, spec, origin_node_id, created_by, updated_by)"
                " VALUES ('held_forecast', 'CN', 'forecast', 'site', 'hazardous_lots_held',"
                " 'warning', 'tighten_only', CAST(:spec AS jsonb), 'CN', 't', 't')"
            ),
            {"spec": json.dumps(spec)},
        )
    summary = run_cycle(engine, settings, now.to_pydatetime(), options=CycleOptions(workers=1))
    assert summary.series_ok == 2 and summary.lots_scored == 2
    return summary


def test_a_series_forecast_is_readable_inside_the_tokens_subtree_only(client, engine, forecasted):
    qingdao = bearer(make_token(engine, "viewer", "4200"))
    response = client.get(f"/api/v1/forecasts/{QIANWAN}/hazardous_lots_held", headers=qingdao)
    assert response.status_code == 200
    body = response.get_json()
    assert body["run_id"] == forecasted.run_id and len(body["rows"]) == 48
    assert all(r["yhat_lower"] <= r["yhat"] <= r["yhat_upper"] for r in body["rows"])
    hidden = client.get(f"/api/v1/forecasts/{YANGSHAN}/hazardous_lots_held", headers=qingdao)
    assert hidden.status_code == 404
    missing = client.get(f"/api/v1/forecasts/{QIANWAN}/lots_on_site", headers=qingdao)
    assert missing.status_code == 404
    assert client.get(f"/api/v1/forecasts/{QIANWAN}/hazardous_lots_held").status_code == 401


def test_crossings_list_only_the_subtree(client, engine, forecasted, auth):
    qingdao = bearer(make_token(engine, "viewer", "4200"))
    items = client.get("/api/v1/forecasts/crossings", headers=qingdao).get_json()["items"]
    assert [(i["node_id"], i["threshold"]) for i in items] == [(QIANWAN, 30.0)]
    assert items[0]["crossing_at"] is not None and items[0]["probability"] >= 0.5
    everything = client.get("/api/v1/forecasts/crossings?predicted=true", headers=auth).get_json()
    assert {i["node_id"] for i in everything["items"]} == {QIANWAN, YANGSHAN}
    outside = client.get("/api/v1/forecasts/crossings?node=2200", headers=qingdao)
    assert outside.status_code == 404
    bad = client.get("/api/v1/forecasts/crossings?hours=abc", headers=qingdao)
    assert bad.status_code == 400


def test_breach_predictions_list_held_lots_of_the_subtree(client, engine, forecasted, auth):
    qingdao = bearer(make_token(engine, "viewer", "4200"))
    items = client.get("/api/v1/lots/breach-predictions", headers=qingdao).get_json()["items"]
    assert [i["lot_id"] for i in items] == [f"{QIANWAN}-old"]
    assert 0.0 <= items[0]["breach_probability"] <= 1.0 and items[0]["deadline_at"]
    national = client.get("/api/v1/lots/breach-predictions", headers=auth).get_json()["items"]
    assert {i["site_id"] for i in national} == {QIANWAN, YANGSHAN}
    # The collector's /lots/<lot_id> route still answers for real lot ids.
    assert client.get(f"/api/v1/lots/{QIANWAN}-old", headers=qingdao).status_code == 200
