"""forecast_decision round-trips every kind of champion, a blend of Prophet and a seasonal
naive included, and refuses a method the cycle could not publish."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from forecaster.backtest.scoring import Score
from forecaster.crossings import decision_store
from forecaster.crossings.decision import BLEND, Champion, DecisionRule
from forecaster.crossings.threshold_crossing import Calibration


def test_a_blend_champion_round_trips_with_its_rule_scores_and_runner_up(engine):
    rule = DecisionRule(
        "probability",
        0.7,
        2,
        Calibration((0.1, 0.9), (0.05, 0.8)),
        method="blend_168h",
        conformal_factor=1.2,
    )
    won = Score(rule.name, tp=8, fp=2, fn=2, tn=20, fp_episodes=1, site_weeks=4.0)
    naive = Score("seasonal_naive_168h", tp=8, fp=2, fn=2, tn=20, fp_episodes=2, site_weeks=4.0)
    chosen = Champion(rule, won, (DecisionRule(method="seasonal_naive_168h"), naive), "fewer")
    with engine.begin() as conn:
        decision_store.save_decision(
            conn, "lots_on_site", rule, false_alarm_budget=1.0, backtest_id=None, chosen=chosen
        )
        loaded = decision_store.load_decisions(conn)["lots_on_site"]
        row = conn.execute(
            text(
                "SELECT method, rule, runner_up, false_alarm_episodes_per_site_week"
                " FROM forecast_decision"
            )
        ).one()
    assert loaded == rule and loaded.is_blend and loaded.baseline == "seasonal_naive_168h"
    assert loaded.name == "blend_168h p>=0.7 x2"
    assert tuple(row) == ("blend_168h", "probability", "seasonal_naive_168h", 0.25)


@pytest.mark.parametrize("method", sorted(BLEND))
def test_every_blend_the_backtest_may_choose_can_be_stored(engine, method):
    rule = DecisionRule("yhat", method=method)
    with engine.begin() as conn:
        decision_store.save_decision(
            conn, "lots_on_site", rule, false_alarm_budget=1.0, backtest_id=None
        )
        loaded = decision_store.load_decisions(conn)["lots_on_site"]
    assert loaded.baseline == BLEND[method] and loaded.name == f"{method} yhat"


def test_a_method_the_cycle_cannot_publish_is_refused(engine):
    rule = DecisionRule(method="prophet & seasonal_naive_168h")
    with (
        pytest.raises(IntegrityError, match="forecast_decision_method_check"),
        engine.begin() as conn,
    ):
        decision_store.save_decision(
            conn, "lots_on_site", rule, false_alarm_budget=1.0, backtest_id=None
        )
