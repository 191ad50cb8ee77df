from __future__ import annotations

import numpy as np
import pandas as pd

from forecaster.backtest import rules as rb
from forecaster.crossings.decision import DecisionRule

T0 = pd.Timestamp("2026-04-01")
H = pd.Timedelta(hours=1)


def case(hour: int, max_p: float, crossed: bool, key: str = "s") -> rb.Case:
    now = T0 + hour * H
    ds = np.array([now + H, now + 2 * H], dtype="datetime64[ns]")
    truth = now + 2 * H if crossed else None
    return rb.Case(key, now, ds, np.array([0.0, max_p]), truth, 1.0, 2, 1)


def test_consecutive_rules_wait_for_repeated_warnings_and_false_alarms_count_as_episodes():
    cases = [case(0, 0.9, False), case(3, 0.9, False), case(6, 0.9, True), case(9, 0.1, True)]
    once = rb.score(cases, DecisionRule("yhat"), "once", step=3)
    twice = rb.score(cases, DecisionRule("yhat", consecutive=2), "twice", step=3)
    assert (once.tp, once.fp, once.fn, once.fp_episodes) == (1, 2, 1, 1)
    assert (twice.tp, twice.fp, twice.fn, twice.fp_episodes) == (1, 1, 1, 1)
    assert once.site_weeks == 4 * 3 / 168 and once.leads_hours == (2.0,)
    assert once.mae == 0.5 and once.coverage == 0.5


def test_a_gap_between_origins_breaks_a_streak():
    cases = [case(0, 0.9, False), case(30, 0.9, True)]
    twice = rb.score(cases, DecisionRule("yhat", consecutive=2), "twice", step=3)
    assert twice.tp == 0 and twice.fn == 1


def test_thresholds_are_the_rarely_reached_level_even_for_mostly_zero_counts():
    counts = pd.Series([0.0] * 90 + [1.0] * 7 + [2.0] * 3)
    assert rb.threshold_for(counts) == 1.0
    assert rb.threshold_for(pd.Series(np.arange(100.0))) == 90.0
    assert rb.threshold_for(pd.Series([0.0] * 50)) is None


def test_prophet_and_baselines_are_scored_on_the_same_origins(make_series):
    history = make_series(n=12 * 24)
    threshold = rb.threshold_for(history["y"])
    grid = rb.Grid(window=7 * 24, horizon=24, step=24)
    prophet = rb.prophet_cases({"s": history}, {"s": threshold}, grid, workers=1)
    baselines = rb.baseline_cases({"s": history}, {"s": threshold}, grid)
    assert len(prophet) == len(baselines["seasonal_naive_24h"]) > 0
    rows = rb.compare({"prophet": prophet}, baselines, step=24)
    assert len(rows) == 15 + 5  # persistence, two seasonal naives, the weekly mean, linear
    assert rb.calibration_of(prophet) is None  # fewer than 20 cases


def test_lead_is_per_crossing_from_the_first_true_warning():
    crossing = T0 + 24 * H

    def warned_from(first_hour: int) -> list[rb.Case]:
        out = []
        for hour in range(0, 24, 3):
            now = T0 + hour * H
            p = 0.9 if hour >= first_hour else 0.1
            out.append(rb.Case("s", now, np.array([crossing]), np.array([p]), crossing, 0, 0, 0))
        # A second crossing, warned of once, 2 h ahead, by both methods.
        now = T0 + 40 * H
        out.append(
            rb.Case("s", now, np.array([now + 2 * H]), np.array([0.9]), now + 2 * H, 0, 0, 0)
        )
        return out

    early = rb.score(warned_from(3), DecisionRule("yhat"), "early", step=3)
    late = rb.score(warned_from(18), DecisionRule("yhat"), "late", step=3)
    assert early.tp == 7 + 1 and late.tp == 2 + 1  # TP still counts origins
    assert early.leads_hours == (21.0, 2.0) and late.leads_hours == (6.0, 2.0)
    assert early.median_lead_hours == 11.5 and late.median_lead_hours == 4.0
    # Per TP origin (the old figure) the early method's median was 10.5 h, of (21, 18, ..., 3, 2):
    # warning again as the crossing nears pulled its lead down.


def test_an_agreement_case_warns_only_where_the_baseline_warns_too():
    prophet = [case(0, 0.9, True), case(3, 0.9, False), case(6, 0.2, True)]
    naive = [case(0, 0.6, True), case(3, 0.1, False), case(6, 0.9, True)]
    both = rb.agreement_cases(prophet, naive)
    assert [c.max_p for c in both] == [0.9, 0.0, 0.2]
    scored = rb.score(both, DecisionRule("edge"), "both", step=3)
    assert (scored.tp, scored.fp, scored.fn) == (2, 0, 0)  # edge cuts at 0.1


def forecast_case(hour: int, yhat: list[float], half: float, truth: list[float]) -> rb.Case:
    """A case built the way the backtest builds one, from a forecast and the observations."""
    now = T0 + hour * H
    ds = pd.date_range(now + H, periods=len(yhat), freq="h")
    fc = pd.DataFrame(
        {
            "ds": ds,
            "yhat": yhat,
            "yhat_lower": np.subtract(yhat, half),
            "yhat_upper": np.add(yhat, half),
        }
    )
    observed = pd.DataFrame({"ds": ds, "y": truth})
    return rb._case("s", fc, observed, now, 30.0, "above")


def test_a_blend_case_is_the_mean_of_prophets_and_the_naives_forecasts_at_each_step():
    prophet = [
        forecast_case(0, [10.0, 20.0], 4.0, [12.0, 35.0]),
        forecast_case(3, [5.0], 4.0, [5.0]),
    ]
    naive = [forecast_case(0, [50.0, 30.0], 0.0, [12.0, 35.0])]  # none at hour 3
    [both] = rb.blend_cases(prophet, naive, {"s": 30.0}, "above", non_negative=True)
    assert both.forecast is not None
    assert both.forecast["yhat"].tolist() == [30.0, 25.0]
    assert (both.forecast["yhat_upper"] - both.forecast["yhat"]).tolist() == [4.0, 4.0]
    assert both.p[0] == 0.5 and 0.0 < both.p[1] < 0.5  # yhat at T, then below it
    assert both.truth == T0 + 2 * H and both.abs_error == 18.0 + 10.0 and both.n_covered == 0
    assert prophet[0].max_p < 0.1  # Prophet alone: not even the edge rule warns


def test_blend_rows_read_the_blend_and_are_named_by_it():
    cases = [case(0, 0.9, True)]
    rows = rb.compare({"blend_168h": cases}, {}, step=3)
    assert len(rows) == 15
    rule, scored = rows[0]
    assert (
        rule is not None and rule.method == "blend_168h" and rule.baseline == "seasonal_naive_168h"
    )
    assert scored.method == f"blend_168h {DecisionRule('edge').name}" == rule.name
