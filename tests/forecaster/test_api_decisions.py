"""The champion per indicator through the API: the decisions listing, and the champion on a
series' forecast and on its crossings."""

from __future__ import annotations

from sqlalchemy import text

from conftest import make_token
from forecaster.backtest.scoring import Score
from forecaster.crossings import decision_store
from forecaster.crossings.decision import Champion, DecisionRule

QIANWAN = "4202-QIANWAN"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_decisions_list_each_indicators_champion_scores_and_why(client, engine):
    won = Score("seasonal_naive_168h", tp=8, fp=2, fn=2, tn=20, fp_episodes=1, site_weeks=4.0)
    lost = Score("prophet yhat", tp=8, fp=2, fn=2, tn=20, fp_episodes=2, site_weeks=4.0)
    rule = DecisionRule(method="seasonal_naive_168h", conformal_factor=1.4)
    chosen = Champion(rule, won, (DecisionRule(), lost), "equal F1, fewer episodes")
    with engine.begin() as conn:
        decision_store.save_decision(
            conn, "lots_on_site", rule, false_alarm_budget=1.0, backtest_id=None, chosen=chosen
        )
        assert decision_store.load_decisions(conn) == {"lots_on_site": rule}
    viewer = bearer(make_token(engine, "viewer", "4200"))
    body = client.get("/api/v1/forecasts/decisions", headers=viewer).get_json()
    [item] = body["items"]
    assert (item["indicator"], item["method"], item["rule"]) == (
        "lots_on_site",
        "seasonal_naive_168h",
        "seasonal_naive_168h",
    )
    assert (
        item["scores"]["f1"] == 0.8 and item["scores"]["false_alarm_episodes_per_site_week"] == 0.25
    )
    assert item["runner_up"]["method"] == "prophet yhat"
    assert item["runner_up"]["scores"]["false_alarm_episodes_per_site_week"] == 0.5
    assert item["reason"] == "equal F1, fewer episodes" and item["conformal_factor"] == 1.4
    none = client.get("/api/v1/forecasts/decisions?indicator=arrivals_per_hour", headers=viewer)
    assert none.get_json()["items"] == []
    assert client.get("/api/v1/forecasts/decisions?node=CN", headers=viewer).status_code == 400
    assert client.get("/api/v1/forecasts/decisions").status_code == 401


def test_a_crossing_and_a_forecast_name_their_indicators_champion(client, engine, auth):
    with engine.begin() as conn:
        sid = conn.execute(
            text(
                "SELECT series_id FROM series WHERE node_id = :n AND indicator_code = 'lots_on_site'"
            ),
            {"n": QIANWAN},
        ).scalar_one()
        run = conn.execute(
            text("INSERT INTO forecast_run (started_at) VALUES (now()) RETURNING run_id")
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO forecast_crossing (series_id, run_id, computed_at, threshold,"
                " direction, crossing_at, probability, lead_hours, raw_probability, rule)"
                " VALUES (:s, :r, now(), 30, 'above', now() + interval '5 hours', 1, 5, 1,"
                " 'seasonal_naive_24h')"
            ),
            {"s": sid, "r": run},
        )
        conn.execute(
            text(
                "INSERT INTO forecast_model (series_id, run_id, format_version, fitted_at,"
                " history_end, n_points, data_hash, fit_seconds, warm_start)"
                " VALUES (:s, :r, 1, now(), now(), 72, 'x', 0.1, '{}')"
            ),
            {"s": sid, "r": run},
        )
        decision_store.save_decision(
            conn,
            "lots_on_site",
            DecisionRule(method="seasonal_naive_24h"),
            false_alarm_budget=1.0,
            backtest_id=None,
        )
    [item] = client.get("/api/v1/forecasts/crossings", headers=auth).get_json()["items"]
    assert item["rule"] == "seasonal_naive_24h"
    assert item["champion"]["method"] == "seasonal_naive_24h"
    forecast = client.get(f"/api/v1/forecasts/{QIANWAN}/lots_on_site", headers=auth).get_json()
    assert forecast["champion"]["method"] == "seasonal_naive_24h"


def test_a_blend_champion_is_listed_by_its_method_with_the_rule_it_was_chosen_with(client, engine):
    rule = DecisionRule("edge", method="blend_24h")
    with engine.begin() as conn:
        decision_store.save_decision(
            conn, "lots_on_site", rule, false_alarm_budget=1.0, backtest_id=None
        )
    viewer = bearer(make_token(engine, "viewer", "4200"))
    [item] = client.get("/api/v1/forecasts/decisions", headers=viewer).get_json()["items"]
    assert (item["method"], item["rule"]) == ("blend_24h", "edge")
