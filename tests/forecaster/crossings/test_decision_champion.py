"""The champion per indicator: Prophet's rules and the seasonal-naive baselines through
``choose``, with the runner-up and the reason."""

from __future__ import annotations

from forecaster.backtest.scoring import Score
from forecaster.crossings.decision import CANDIDATES, DecisionRule, champion


def scored(method: str, episodes: int, tp: int = 8) -> Score:
    return Score(method, tp=tp, fp=2, fn=2, tn=20, fp_episodes=episodes, site_weeks=4.0)


def table(baseline_episodes: int) -> list[tuple[DecisionRule, Score]]:
    prophet = [(rule, scored(f"prophet {rule.name}", 2, tp=4)) for rule in CANDIDATES]
    prophet[6] = (CANDIDATES[6], scored(f"prophet {CANDIDATES[6].name}", 2))  # yhat: F1 0.8
    return [
        *prophet,
        (DecisionRule(method="seasonal_naive_24h"), scored("seasonal_naive_24h", 4, tp=4)),
        (
            DecisionRule(method="seasonal_naive_168h"),
            scored("seasonal_naive_168h", baseline_episodes),
        ),
    ]


def test_the_baseline_wins_at_equal_f1_with_fewer_false_alarm_episodes():
    won = champion(table(baseline_episodes=1), false_alarm_budget=1.0)
    assert won.rule.method == "seasonal_naive_168h" and won.rule.name == "seasonal_naive_168h"
    assert won.score.f1 == 0.8 and won.score.false_alarm_episodes_per_site_week == 0.25
    assert won.runner_up is not None and won.runner_up[1].method == "prophet yhat"
    assert "fewer false-alarm episodes" in won.reason and "prophet yhat" in won.reason


def test_prophet_keeps_the_warning_when_the_baseline_has_more_false_alarms():
    won = champion(table(baseline_episodes=3), false_alarm_budget=1.0)
    assert won.rule.method == "prophet" and won.rule.name == "yhat"
    assert won.runner_up is not None and won.runner_up[1].method == "seasonal_naive_168h"
