"""The champion of one indicator or series: the fewest false-alarm episodes among candidates
at or above the best seasonal naive's F1, with the runner-up and the reason."""

from __future__ import annotations

import math

import pytest

from forecaster.backtest.champion import choose, f1_floor
from forecaster.backtest.scoring import Score
from forecaster.crossings.decision import DecisionRule


def scored(method: str, tp: int, episodes: int, leads: tuple[float, ...] = ()) -> Score:
    """F1 = 2 tp / (2 tp + 4): 8 -> 0.80, 6 -> 0.75, 4 -> 0.67, over 4 site-weeks."""
    return Score(
        method, tp=tp, fp=2, fn=2, tn=20, site_weeks=4.0, fp_episodes=episodes, leads_hours=leads
    )


def prophet(
    name: str, tp: int, episodes: int, leads: tuple[float, ...] = ()
) -> tuple[DecisionRule, Score]:
    rule = {"yhat": DecisionRule("yhat"), "edge": DecisionRule("edge")}[name]
    return rule, scored(f"prophet {name}", tp, episodes, leads)


def naive(season: int, tp: int, episodes: int) -> tuple[DecisionRule, Score]:
    method = f"seasonal_naive_{season}h"
    return DecisionRule(method=method), scored(method, tp, episodes)


def test_the_best_seasonal_naive_sets_the_f1_floor():
    floor = f1_floor([prophet("yhat", 8, 1), naive(24, 6, 3), naive(168, 4, 1)])
    assert floor is not None and floor[1].method == "seasonal_naive_24h"
    assert f1_floor([prophet("yhat", 8, 1)]) is None


def test_naives_that_catch_no_crossing_set_no_floor_and_the_best_f1_wins():
    caught_none = [naive(24, 0, 3), naive(168, 0, 1)]
    assert f1_floor(caught_none) is None
    cautious = prophet("edge", 2, 0)  # F1 0.40, no false alarm
    won = choose([cautious, prophet("yhat", 8, 3), *caught_none])
    assert won.score.method == "prophet yhat"  # F1 0.80, although with false alarms
    assert won.reason == "no seasonal naive catches a crossing, so no F1 floor: the best F1 (0.80)"


def test_prophet_wins_with_fewer_false_alarms_at_the_floor_even_with_a_lower_f1_than_another():
    won = choose([prophet("yhat", 8, 3), prophet("edge", 6, 1), naive(24, 6, 2), naive(168, 4, 0)])
    assert won.score.method == "prophet edge"  # F1 0.75 = the floor, 1 episode against 2
    assert won.runner_up is not None and won.runner_up[1].method == "seasonal_naive_24h"
    assert "fewest false-alarm episodes per site-week (0.25)" in won.reason
    assert "F1 >= 0.75 (seasonal_naive_24h" in won.reason


def test_a_candidate_below_the_floor_never_wins_however_few_its_false_alarms():
    won = choose([prophet("yhat", 4, 0), naive(24, 6, 2), naive(168, 4, 0)])
    assert won.score.method == "seasonal_naive_24h"
    assert won.runner_up is not None and won.runner_up[1].method == "prophet yhat"
    assert "no Prophet-based candidate reaches it" in won.reason


def test_the_best_baseline_wins_when_no_prophet_rule_at_the_floor_has_fewer_false_alarms():
    won = choose([prophet("yhat", 8, 3), naive(24, 6, 2)])
    assert won.score.method == "seasonal_naive_24h"
    assert won.runner_up is not None and won.runner_up[1].method == "prophet yhat"
    assert "runner-up prophet yhat at 0.75, F1 0.80" in won.reason


def test_ties_go_to_the_higher_f1_then_the_longer_lead_then_the_simpler_method():
    higher = choose([prophet("yhat", 8, 2), prophet("edge", 6, 2), naive(24, 6, 2)])
    assert higher.score.method == "prophet yhat"
    earlier = [prophet("yhat", 6, 2, leads=(3.0,)), prophet("edge", 6, 2, leads=(9.0,))]
    assert choose([*earlier, naive(24, 6, 2)]).score.method == "prophet edge"
    both = (DecisionRule("edge"), scored("prophet & seasonal_naive_24h edge", 6, 2))
    assert choose([both, prophet("yhat", 6, 2), naive(24, 6, 2)]).score.method == (
        "seasonal_naive_24h"
    )
    assert choose([both, prophet("yhat", 6, 2)]).score.method == "prophet yhat"


def test_on_a_tie_a_blend_loses_to_a_prophet_rule_and_beats_an_agreement():
    blend_rule = DecisionRule("edge", method="blend_168h")
    blended = (blend_rule, scored(blend_rule.name, 6, 2))
    both = (DecisionRule("edge"), scored("prophet & seasonal_naive_168h edge", 6, 2))
    assert choose([blended, prophet("yhat", 6, 2), naive(24, 4, 2)]).score.method == "prophet yhat"
    won = choose([both, blended, naive(24, 4, 2)])
    assert won.score.method == "blend_168h edge" and won.rule.is_blend
    assert won.runner_up is not None and won.runner_up[1].method == "seasonal_naive_24h"


def test_without_a_seasonal_naive_the_best_f1_wins_and_the_reason_says_so():
    won = choose([prophet("yhat", 6, 0), prophet("edge", 8, 3)])
    assert won.score.method == "prophet edge" and won.runner_up is None
    assert "no seasonal naive scored" in won.reason


def test_no_time_at_risk_counts_as_the_most_false_alarms():
    unscored = (DecisionRule("edge"), Score("prophet edge", tp=6, fp=2, fn=2))
    assert math.isnan(unscored[1].false_alarm_episodes_per_site_week)
    assert choose([unscored, naive(24, 6, 9)]).score.method == "seasonal_naive_24h"


def test_nothing_to_choose_from_is_an_error():
    with pytest.raises(ValueError, match="no candidates"):
        choose([])
