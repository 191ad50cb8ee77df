"""prophet.stored_fit: a stored fit forecasts a newer window of its series without optimising.
It draws exactly the fitted curve at the new hours, follows a level change of the newest hours
through the residual carry, stays close to a refit, and refuses (StaleFit) a window it does not
describe, which batch.forecast_one then fits. forecast_from_stored, the cycle's path, gives
the same forecast in numpy, and hands what it does not rebuild to Prophet. refit_due staggers
the refits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from forecaster.errors import ForecastSkipped
from forecaster.prophet.batch import FAST_CONFIG, forecast_one
from forecaster.prophet.model import ProphetConfig, fit, predict, warm_start_params
from forecaster.prophet.speedups import components
from forecaster.prophet.stored_fit import (
    StaleFit,
    fit_state,
    forecast_from_stored,
    refit_due,
    refreshed,
)

WINDOW = 28 * 24


def hourly(start: str, hours: int, seed: int = 1) -> pd.DataFrame:
    """Daily and weekly cycles, a slow rise and noise of sd 2."""
    ds = pd.date_range(start, periods=hours, freq="h")
    t = np.arange(hours)
    y = 50 + 10 * np.sin(2 * np.pi * t / 24) + 5 * np.sin(2 * np.pi * t / 168) + 0.01 * t
    return pd.DataFrame({"ds": ds, "y": y + np.random.default_rng(seed).normal(0, 2, hours)})


@pytest.fixture(scope="module")
def series():
    return hourly("2026-04-01", WINDOW + 30)


@pytest.fixture(scope="module")
def stored(series):
    model = fit(series.iloc[:WINDOW], FAST_CONFIG)
    return model, warm_start_params(model), fit_state(model)


def later(series, hours):
    return series.iloc[hours : WINDOW + hours].reset_index(drop=True)


def test_a_fit_state_is_small_json(stored):
    _, _, state = stored
    assert len(json.dumps(state)) < 4000
    assert json.loads(json.dumps(state)) == state


def test_a_refreshed_fit_draws_exactly_the_stored_curve_at_the_new_hours(series, stored):
    model, params, state = stored
    window = later(series, 5)
    again = refreshed(window, FAST_CONFIG, params, state)
    assert again.last_ds == window["ds"].iloc[-1]
    hours = predict(again, 48)["ds"]
    drawn = components(again.prophet, hours)["yhat"].to_numpy()
    fitted = components(model.prophet, hours)["yhat"].to_numpy()
    np.testing.assert_allclose(drawn, fitted, rtol=0, atol=1e-9)


def test_a_refreshed_forecast_starts_after_the_new_window_and_stays_close_to_a_refit(
    series, stored
):
    _, params, state = stored
    window = later(series, 5)
    fresh = predict(refreshed(window, FAST_CONFIG, params, state), 48)
    refit = predict(fit(window, FAST_CONFIG, params), 48)
    assert fresh["ds"].iloc[0] == window["ds"].iloc[-1] + pd.Timedelta(hours=1)
    assert (fresh["ds"].to_numpy() == refit["ds"].to_numpy()).all()
    # Noise has sd 2: the five newest hours move a 28-day fit far less than that.
    assert np.abs(fresh["yhat"] - refit["yhat"]).max() < 0.5
    assert (fresh["yhat_upper"] > fresh["yhat"]).all() and (
        fresh["yhat_lower"] < fresh["yhat"]
    ).all()


def test_a_level_change_in_the_newest_hours_moves_the_refreshed_forecast(series, stored):
    model, params, state = stored
    window = later(series, 5)
    window.loc[window.index[-4:], "y"] += 30
    fresh = predict(refreshed(window, FAST_CONFIG, params, state), 48)
    curve = components(model.prophet, fresh["ds"])["yhat"].to_numpy()
    assert fresh["yhat"].iloc[0] - curve[0] > 10  # the residual carry, read on the new hours


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda state: {**state, "format": 99}, "other settings"),
        (lambda state: {**state, "features": state["features"][:-1]}, "features differ"),
    ],
)
def test_a_changed_frame_is_a_stale_fit(series, stored, change, reason):
    _, params, state = stored
    with pytest.raises(StaleFit, match=reason):
        refreshed(later(series, 5), FAST_CONFIG, params, change(state))


def test_other_settings_are_a_stale_fit(series, stored):
    _, params, state = stored
    multiplicative = FAST_CONFIG.__class__(uncertainty_samples=0, seasonality_mode="multiplicative")
    with pytest.raises(StaleFit, match="other settings"):
        refreshed(later(series, 5), multiplicative, params, state)


def test_a_window_past_the_first_changepoint_is_a_stale_fit(stored):
    _, params, state = stored
    first = pd.Timestamp(state["changepoints"][0])
    window = hourly(str(first + pd.Timedelta(hours=1)), WINDOW)
    with pytest.raises(StaleFit, match="changepoint"):
        refreshed(window, FAST_CONFIG, params, state)


def test_a_holiday_entering_the_window_is_a_stale_fit():
    # Golden Week starts on 1 October: a window ending the evening before has none of it.
    before = hourly("2026-09-02 22:00", WINDOW + 8)
    model = fit(before.iloc[:WINDOW], FAST_CONFIG)
    assert before["ds"].iloc[WINDOW - 1] < pd.Timestamp("2026-10-01")
    with pytest.raises(StaleFit, match="features differ"):
        refreshed(later(before, 8), FAST_CONFIG, warm_start_params(model), fit_state(model))


def test_forecast_one_fits_when_the_stored_fit_is_stale(series, stored):
    _, params, state = stored
    window = later(series, 5)
    fresh = forecast_one("s", window, FAST_CONFIG, 48, params, state)
    assert fresh.refreshed and fresh.fit_state is None and fresh.warm_start == params
    stale = forecast_one("s", window, FAST_CONFIG, 48, params, {**state, "format": 0})
    assert not stale.refreshed and stale.ok and stale.fit_state is not None
    assert stale.fit_state["start"] == window["ds"].iloc[0].isoformat()


@pytest.mark.parametrize(
    "damage",
    [
        lambda state: {k: v for k, v in state.items() if k != "y_scale"},
        lambda state: {**state, "changepoints": "not a list"},
        lambda state: {**state, "t_scale_s": None},
    ],
)
def test_a_damaged_stored_fit_is_fitted_not_failed(series, stored, damage):
    _, params, state = stored
    result = forecast_one("s", later(series, 5), FAST_CONFIG, 48, params, damage(state))
    assert result.ok and not result.refreshed and result.fit_state is not None


def messy(window: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The window with missing values, a late duplicate of an hour and its rows shuffled."""
    rng = np.random.default_rng(seed)
    out = window.copy()
    out.loc[rng.choice(len(out), 15, replace=False), "y"] = np.nan
    out.loc[out.index[3], "y"] = np.inf
    late = out.iloc[[-3]].assign(y=out["y"].iloc[-3] + 40)
    return pd.concat([out, late]).sample(frac=1, random_state=seed)


@pytest.mark.parametrize("mode", ["additive", "multiplicative"])
@pytest.mark.parametrize(
    "start",
    [
        "2026-06-01",  # no holiday
        "2026-01-25",  # Spring Festival's window and a make-up workday
        "2026-09-10",  # Golden Week ahead of the window's end
        "2026-12-12",  # across New Year
    ],
)
def test_the_numpy_forecast_from_a_stored_fit_is_prophets_own(start, mode):
    cfg = ProphetConfig(seasonality_mode=mode)
    series = hourly(start, WINDOW + 12, seed=4)
    model = fit(series.iloc[:WINDOW], cfg)
    params, state = warm_start_params(model), fit_state(model)
    for window in (later(series, 3), messy(later(series, 7), seed=5)):
        try:
            prophets = predict(refreshed(window, cfg, params, state), 48)
        except StaleFit:
            with pytest.raises(StaleFit):
                forecast_from_stored(window, cfg, params, state, 48)
            continue
        ours = forecast_from_stored(window, cfg, params, state, 48)
        assert (ours["ds"].to_numpy() == prophets["ds"].to_numpy()).all()
        np.testing.assert_allclose(
            ours[["yhat", "yhat_lower", "yhat_upper"]].to_numpy(),
            prophets[["yhat", "yhat_lower", "yhat_upper"]].to_numpy(),
            rtol=0,
            atol=1e-9,
        )


def test_what_the_numpy_path_does_not_rebuild_goes_to_prophet(series, stored):
    _, params, state = stored
    window = later(series, 5)
    as_text = window.assign(ds=window["ds"].astype(str))  # not a datetime column
    ours = forecast_from_stored(as_text, FAST_CONFIG, params, state, 48)
    prophets = predict(refreshed(window, FAST_CONFIG, params, state), 48)
    np.testing.assert_allclose(ours["yhat"], prophets["yhat"], rtol=0, atol=1e-9)


def test_the_numpy_path_refuses_what_refreshed_refuses(series, stored):
    _, params, state = stored
    with pytest.raises(StaleFit, match="other settings"):
        forecast_from_stored(later(series, 5), FAST_CONFIG, params, {**state, "format": 0}, 48)
    first = pd.Timestamp(state["changepoints"][0])
    past = hourly(str(first + pd.Timedelta(hours=1)), WINDOW)
    with pytest.raises(StaleFit, match="changepoint"):
        forecast_from_stored(past, FAST_CONFIG, params, state, 48)
    with pytest.raises(ForecastSkipped, match="usable points"):
        forecast_from_stored(later(series, 5).iloc[:10], FAST_CONFIG, params, state, 48)


def test_without_a_stored_fit_or_with_refits_every_time_a_refit_is_due():
    origin = datetime(2026, 4, 10, 10, tzinfo=UTC)
    assert refit_due(7, None, origin, 6)
    assert refit_due(7, origin - timedelta(hours=1), origin, 0)


def test_a_fit_as_old_as_the_refit_interval_or_from_the_future_is_refitted():
    origin = datetime(2026, 4, 10, 10, tzinfo=UTC)
    assert refit_due(7, origin - timedelta(hours=6), origin, 6)
    assert refit_due(7, origin + timedelta(hours=1), origin, 6)
    assert not refit_due(7, origin, origin, 6)  # fitted on this very window's end


def test_refits_are_staggered_one_turn_hour_per_series_and_never_further_apart_than_asked():
    every, series = 6, range(1, 61)
    start = datetime(2026, 4, 10, 10, tzinfo=UTC)
    fitted_end = dict.fromkeys(series, start)  # a cold cycle fitted them all together
    per_hour = []
    for hour in range(1, 49):
        origin = start + timedelta(hours=hour)
        due = [s for s in series if refit_due(s, fitted_end[s], origin, every)]
        for s in due:
            assert origin - fitted_end[s] <= timedelta(hours=every)
            fitted_end[s] = origin
        per_hour.append(len(due))
    assert sum(per_hour[:every]) == len(series)  # the first turn refits each series once
    assert max(per_hour) == len(series) // every  # then ten an hour, never all sixty
    assert per_hour[every:] == [len(series) // every] * (48 - every)
