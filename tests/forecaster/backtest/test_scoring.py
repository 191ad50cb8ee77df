from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from forecaster.backtest.baselines import BASELINES, static_deadline_rule
from forecaster.backtest.scoring import (
    Method,
    Score,
    backtest_threshold,
    breach_times,
    median_lead_gain,
    model_warn_times,
    origins,
    prophet_forecaster,
    score_deadline_warnings,
    to_markdown,
)
from forecaster.breach.storage_deadlines import fit_dwell

T0 = pd.Timestamp("2025-06-02 00:00")
H = pd.Timedelta(hours=1)


def oracle(full: pd.DataFrame) -> Method:
    """A perfect forecaster: returns the actual future values with a hair-thin band."""

    def forecast(window: pd.DataFrame, horizon_hours: int) -> pd.DataFrame:
        now = window["ds"].iloc[-1]
        rows = full[(full["ds"] > now) & (full["ds"] <= now + horizon_hours * H)]
        y = rows["y"].to_numpy()
        return pd.DataFrame(
            {"ds": rows["ds"], "yhat": y, "yhat_lower": y - 0.01, "yhat_upper": y + 0.01}
        )

    return Method("oracle", forecast)


def test_a_perfect_forecaster_gets_precision_and_recall_of_one(make_series):
    full = make_series(n=35 * 24)
    threshold = float(full["y"].quantile(0.9))
    methods = [oracle(full), Method("snaive", BASELINES["seasonal_naive_24h"])]
    perfect, snaive = backtest_threshold(
        full, threshold, methods, window_hours=7 * 24, step_hours=6
    )
    assert perfect.tp > 5
    assert perfect.precision == 1.0 and perfect.recall == 1.0 and perfect.f1 == 1.0
    assert perfect.fp == 0 and perfect.false_alarms_per_site_week == 0.0
    assert perfect.median_timing_error_hours == 0.0 and perfect.coverage == 1.0
    assert perfect.tp + perfect.fn == snaive.tp + snaive.fn  # same origins, same truth
    assert not math.isnan(snaive.mae) and snaive.mae > perfect.mae


def test_lead_times_on_a_hand_made_series():
    ds = pd.date_range(T0, periods=5 * 24, freq="h")
    y = np.zeros(len(ds))
    spikes = [T0 + 53 * H, T0 + 90 * H]  # inside the 1st and 2nd horizons
    y[[int((s - T0) / H) for s in spikes]] = 10.0
    full = pd.DataFrame({"ds": ds, "y": y})
    assert origins(full, window_hours=48, horizon_hours=24, step_hours=24) == [
        T0 + 48 * H,
        T0 + 72 * H,
    ]
    (score,) = backtest_threshold(
        full, 5.0, [oracle(full)], window_hours=48, horizon_hours=24, step_hours=24
    )
    # Origin T0+48h: now = T0+47h, spike at +53h -> lead 6 h. Origin T0+72h: now = +71h -> 19 h.
    assert score.tp == 2 and score.leads_hours == (6.0, 19.0)
    assert score.median_lead_hours == 12.5
    assert score.site_weeks == pytest.approx(48 / 168)


def test_a_crossing_warned_of_at_several_origins_has_one_lead_from_the_first():
    ds = pd.date_range(T0, periods=4 * 24, freq="h")
    y = np.zeros(len(ds))
    y[60] = 10.0  # one crossing, inside the horizons of the origins at +42 h, +48 h, +54 h, +60 h
    full = pd.DataFrame({"ds": ds, "y": y})
    (score,) = backtest_threshold(
        full, 5.0, [oracle(full)], window_hours=24, horizon_hours=24, step_hours=6
    )
    assert score.tp == 4  # per origin: +42, +48, +54, +60 (now = origin - 1 h)
    assert score.leads_hours == (19.0,)  # crossing at +60 h minus now at +41 h


def test_prophet_runs_in_the_backtest_like_any_other_method(make_series):
    full = make_series(n=33 * 24)
    methods = [
        Method("prophet", prophet_forecaster()),
        Method("edge", prophet_forecaster(), "edge"),
    ]
    point, edge = backtest_threshold(full, float(full["y"].quantile(0.9)), methods, step_hours=48)
    origins_scored = point.tp + point.fp + point.fn + point.tn
    assert origins_scored == edge.tp + edge.fp + edge.fn + edge.tn > 0
    assert edge.tp + edge.fp >= point.tp + point.fp  # the edge rule warns at least as often
    assert 0.0 <= point.coverage <= 1.0 and point.mae < 3.0


def test_origins_already_in_breach_are_skipped():
    ds = pd.date_range(T0, periods=4 * 24, freq="h")
    full = pd.DataFrame({"ds": ds, "y": np.full(len(ds), 10.0)})
    (score,) = backtest_threshold(full, 5.0, [oracle(full)], window_hours=24, step_hours=24)
    assert score.tp + score.fp + score.fn + score.tn == 0


def test_scores_pool_across_series_and_render_as_markdown():
    a = Score("m", tp=1, fp=1, site_weeks=1.0, leads_hours=(4.0,))
    b = Score("m", tp=1, fn=2, site_weeks=1.0, leads_hours=(8.0,))
    pooled = a + b
    assert (pooled.tp, pooled.fp, pooled.fn) == (2, 1, 2)
    assert pooled.precision == pytest.approx(2 / 3) and pooled.recall == 0.5
    assert pooled.false_alarms_per_site_week == 0.5 and pooled.median_lead_hours == 6.0
    with pytest.raises(ValueError):
        _ = a + Score("other")
    table = to_markdown([pooled, Score("empty")])
    assert table.splitlines()[0].startswith("| method | TP |")
    assert "| m | 2 | 1 | 2 | 0 | 0.67 | 0.50 |" in table and "| empty |" in table


def lots_with_truth() -> pd.DataFrame:
    arrived = T0
    return pd.DataFrame(
        {
            "lot_id": ["caught", "released_in_time", "missed", "warned_after_release"],
            "site_id": "S",
            "hazard_class": "3",
            "stage": "held",
            "arrived_at": arrived,
            "deadline_at": arrived + 100 * H,
            "released_at": [pd.NaT, arrived + 50 * H, arrived + 120 * H, arrived + 30 * H],
        }
    )


def test_deadline_warnings_score_hits_misses_and_lead_time_vs_the_static_rule():
    lots = lots_with_truth()
    assert breach_times(lots).notna().tolist() == [True, False, True, False]
    static = static_deadline_rule(lots, 0.8).set_index("lot_id")["warn_at"]  # T0 + 80 h
    static.loc["missed"] = pd.NaT
    model = pd.Series(
        [T0 + 60 * H, T0 + 40 * H, T0 + 100 * H, T0 + 45 * H], index=lots["lot_id"]
    )  # "missed" warned at the breach instant: too late; the last one after release: ignored
    warn_at = {"static": static, "model": model}
    by_name = {s.method: s for s in score_deadline_warnings(lots, warn_at, site_weeks=2.0)}
    assert (by_name["model"].tp, by_name["model"].fp, by_name["model"].fn) == (1, 1, 1)
    assert by_name["model"].tn == 1 and by_name["model"].leads_hours == (40.0,)
    assert (by_name["static"].tp, by_name["static"].fp, by_name["static"].fn) == (1, 0, 1)
    assert by_name["static"].median_lead_hours == 20.0
    assert by_name["model"].false_alarms_per_site_week == 0.5
    assert median_lead_gain(lots, warn_at, "model", "static") == 20.0


def test_model_warn_times_flag_a_lot_once_breach_becomes_likely():
    history = pd.DataFrame(
        {"site_id": "S", "hazard_class": "3", "stage": "held", "dwell_hours": np.arange(1.0, 151.0)}
    )
    lots = lots_with_truth()
    checks = [T0 + k * 10 * H for k in range(11)]
    warned = model_warn_times(lots, fit_dwell(history, min_at_risk=1), checks)
    # Deadline 100 h: P(dwell > 100 | dwell > e) = 50 / (150 - e) reaches 0.5 at e = 50 h.
    assert warned["caught"] == T0 + 50 * H and warned["missed"] == T0 + 50 * H
    # Released at 50 h and 30 h: no longer held when the probability got there.
    assert pd.isna(warned["released_in_time"]) and pd.isna(warned["warned_after_release"])
