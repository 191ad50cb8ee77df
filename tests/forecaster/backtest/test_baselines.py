from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecaster.backtest.baselines import (
    BASELINES,
    linear_extrapolation,
    persistence,
    seasonal_naive,
    static_deadline_rule,
    weekly_mean,
)
from forecaster.errors import ForecastSkipped

COLUMNS = ["ds", "yhat", "yhat_lower", "yhat_upper"]


def periodic(n: int = 14 * 24) -> pd.DataFrame:
    t = np.arange(n)
    y = 10 + 4 * np.sin(2 * np.pi * t / 24) + 2 * np.sin(2 * np.pi * t / 168)
    return pd.DataFrame({"ds": pd.date_range("2025-03-03", periods=n, freq="h"), "y": y})


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_every_baseline_follows_the_forecast_contract(name, make_series):
    fc = BASELINES[name](make_series(), 48)
    assert list(fc.columns) == COLUMNS
    assert len(fc) == 48
    assert fc["ds"].iloc[0] == make_series()["ds"].iloc[-1] + pd.Timedelta(hours=1)
    assert not fc[COLUMNS[1:]].isna().any().any()
    assert (fc["yhat_lower"] <= fc["yhat"]).all() and (fc["yhat"] <= fc["yhat_upper"]).all()


def test_persistence_repeats_the_last_value_with_a_widening_band(make_series):
    history = make_series()
    fc = persistence(history, 24)
    assert (fc["yhat"] == history["y"].iloc[-1]).all()
    width = fc["yhat_upper"] - fc["yhat_lower"]
    assert width.iloc[-1] == pytest.approx(width.iloc[0] * np.sqrt(24))


def test_seasonal_naive_repeats_the_last_day_and_the_last_week():
    history = periodic()
    day = seasonal_naive(history, 24, season_hours=24)
    np.testing.assert_allclose(day["yhat"], history["y"].iloc[-24:])
    week = seasonal_naive(history, 48, season_hours=168)
    np.testing.assert_allclose(week["yhat"], history["y"].iloc[-168:-120])
    np.testing.assert_allclose(week["yhat_upper"], week["yhat"])  # exact weekly cycle: no error


def test_seasonal_naive_fills_gaps_from_the_previous_season():
    history = periodic()
    history.loc[history.index[-5:-2], "y"] = np.nan
    fc = seasonal_naive(history, 24)
    np.testing.assert_allclose(fc["yhat"].iloc[19:22], history["y"].iloc[-29:-26])
    assert not fc["yhat"].isna().any()


def test_seasonal_naive_needs_one_season():
    with pytest.raises(ForecastSkipped):
        seasonal_naive(periodic(100), 24, season_hours=168)


def test_weekly_mean_averages_the_same_hour_of_the_last_three_weeks():
    history = periodic(4 * 168)
    history.loc[history.index[-168:], "y"] += 3.0  # the last week 3 higher
    history.loc[history.index[-336:-168], "y"] += 6.0  # the week before 6 higher
    fc = weekly_mean(history, 48)
    week_ago = history["y"].iloc[-168:-120].to_numpy()
    np.testing.assert_allclose(fc["yhat"], week_ago - 3.0 + (3.0 + 6.0 + 0.0) / 3)
    assert (fc["yhat_upper"] > fc["yhat"]).all()  # the level moved: the mean had errors


def test_weekly_mean_skips_missing_weeks_and_hours():
    exact = periodic(2 * 168)["y"].iloc[-168:]  # an exact weekly cycle: every mean is the same
    history = periodic(2 * 168)  # two weeks: the mean of the two it has
    history.loc[history.index[-3], "y"] = np.nan  # that hour from the week before alone
    fc = weekly_mean(history, 168, weeks=3)
    np.testing.assert_allclose(fc["yhat"], exact)
    history.loc[history.index[[-3, -171]], "y"] = np.nan  # no value that hour in either week
    fc = weekly_mean(history, 168)
    assert fc["yhat"].iloc[165] == fc["yhat"].iloc[164]  # the previous hour's mean


def test_weekly_mean_needs_one_week():
    with pytest.raises(ForecastSkipped, match="a weekly mean needs 168"):
        weekly_mean(periodic(167), 24)


def test_linear_extrapolation_continues_a_line():
    ds = pd.date_range("2025-03-03", periods=30, freq="h")
    history = pd.DataFrame({"ds": ds, "y": 2.0 * np.arange(30) + 1})
    fc = linear_extrapolation(history, 5)
    np.testing.assert_allclose(fc["yhat"], 2.0 * np.arange(30, 35) + 1)
    np.testing.assert_allclose(fc["yhat_upper"], fc["yhat"], atol=1e-9)


def test_linear_extrapolation_uses_only_the_last_window():
    ds = pd.date_range("2025-03-03", periods=30, freq="h")
    y = np.r_[np.full(24, 100.0), np.arange(6.0)]  # flat, then a fresh ramp
    fc = linear_extrapolation(pd.DataFrame({"ds": ds, "y": y}), 2, window_hours=6)
    np.testing.assert_allclose(fc["yhat"], [6.0, 7.0])


def test_non_negative_clips_the_forecast():
    ds = pd.date_range("2025-03-03", periods=10, freq="h")
    history = pd.DataFrame({"ds": ds, "y": np.arange(10.0, 0.0, -1.0)})
    fc = linear_extrapolation(history, 24, non_negative=True)
    assert (fc[COLUMNS[1:]] >= 0).all().all()


def test_static_rule_warns_after_the_given_share_of_allowed_dwell():
    lots = pd.DataFrame(
        {
            "lot_id": ["a", "b"],
            "arrived_at": pd.to_datetime(["2025-06-01 00:00", "2025-06-01 00:00"]),
            "deadline_at": pd.to_datetime(["2025-06-02 00:00", "2025-06-11 00:00"]),
        }
    )
    out = static_deadline_rule(lots, 0.75, now=pd.Timestamp("2025-06-01 20:00"))
    assert out["warn_at"].tolist() == list(pd.to_datetime(["2025-06-01 18:00", "2025-06-08 12:00"]))
    assert out["warn"].tolist() == [True, False]
    assert "warn" not in static_deadline_rule(lots).columns


def _window(rng: np.random.Generator, trial: int) -> pd.DataFrame:
    """A window as the cycle reads it, or one of the shapes a CSV may have: gaps, missing
    values, a start off the hour, shuffled rows, repeated rows."""
    n = int(rng.integers(1, 800))
    start = pd.Timestamp("2026-01-25") + pd.Timedelta(hours=int(rng.integers(0, 100)))
    if trial % 5 == 0:
        start += pd.Timedelta(minutes=30)
    keep = rng.random(n) > (0.3 if trial % 3 == 0 else 0.0)
    keep[0] = True
    y = rng.normal(100, 30, n)
    if trial % 4 == 0:
        y[rng.random(n) < 0.1] = np.nan
    y[0] = 1.0
    ds = start + pd.to_timedelta(np.arange(n), "h")
    window = pd.DataFrame({"ds": ds[keep], "y": y[keep]})
    if trial % 7 == 0:
        window = window.sample(frac=1, random_state=trial)
    if trial % 11 == 0:
        window = pd.concat([window, window.iloc[:2]])
    return window


def test_the_hourly_grid_is_the_mean_per_hour_pandas_resample_gives_whatever_the_window():
    from forecaster.backtest.baselines import _grid, _regular_grid

    rng = np.random.default_rng(1)
    on_the_numpy_path = 0
    for trial in range(300):
        window = _window(rng, trial)
        points = window.dropna(subset=["y"]).set_index("ds")["y"].astype(float)
        on_the_numpy_path += _regular_grid(window, "h") is not None
        pd.testing.assert_series_equal(
            _grid(window, "h"), points.resample("h").mean(), check_freq=False
        )
    assert 100 < on_the_numpy_path < 300  # both paths were compared
