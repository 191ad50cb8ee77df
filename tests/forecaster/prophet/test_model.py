from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecaster.holidays import cn_holidays, makeup_workdays
from forecaster.prophet.model import (
    COLUMNS,
    ForecastSkipped,
    ModelFormatError,
    ProphetConfig,
    fit,
    from_json,
    predict,
    to_json,
    warm_start_params,
)

FIXTURE = Path(__file__).parent / "fixtures" / "model_v1.json"


@pytest.fixture(scope="module")
def model(make_series):
    return fit(make_series())


def test_predict_returns_the_contract_columns_for_horizon_rows_only(model):
    fc = predict(model, 48)
    assert list(fc.columns) == COLUMNS
    assert len(fc) == 48
    assert fc["ds"].iloc[0] == model.last_ds + pd.Timedelta(hours=1)
    assert (fc["yhat_lower"] <= fc["yhat"]).all() and (fc["yhat"] <= fc["yhat_upper"]).all()


def test_analytic_band_matches_prophets_monte_carlo_band(make_series):
    history = make_series()
    analytic = predict(fit(history), 24)
    sampled = predict(fit(history, ProphetConfig(uncertainty_samples=1000)), 24)
    ratio = (analytic["yhat_upper"] - analytic["yhat_lower"]).mean() / (
        sampled["yhat_upper"] - sampled["yhat_lower"]
    ).mean()
    assert 0.9 < ratio < 1.1


def test_counts_are_clipped_at_zero(make_series):
    history = make_series(level=-6.0)  # the daily trough is well below zero
    clipped = predict(fit(history), 48)
    assert (clipped[COLUMNS[1:]] >= 0).all().all()
    raw = predict(fit(history, ProphetConfig(non_negative=False)), 48)
    assert (raw["yhat"] < 0).any()


def test_holidays_have_stable_names_across_years():
    table = cn_holidays()
    assert set(table["holiday"]) == {"spring_festival", "golden_week", "makeup_workday"}
    festivals = table[table["holiday"] != "makeup_workday"]
    assert sorted(festivals["ds"].dt.year.unique()) == [2024, 2025, 2026, 2027, 2028]
    assert (festivals.groupby("holiday").size() == 5).all()
    assert table.loc[table["holiday"] == "spring_festival", "ds"].dt.strftime("%m-%d").tolist() == [
        "02-10", "01-29", "02-17", "02-06", "01-26",
    ]  # fmt: skip


def test_any_year_gets_spring_festival_and_national_day():
    table = cn_holidays(range(2031, 2032))
    days = dict(zip(table["holiday"], table["ds"].dt.strftime("%Y-%m-%d"), strict=False))
    assert days["spring_festival"] == "2031-01-23"
    assert days["golden_week"] == "2031-10-01"
    assert "makeup_workday" not in days  # no State Council notice for 2031 in the library


def test_makeup_workdays_are_marked_as_such():
    assert date(2024, 2, 4) in makeup_workdays(range(2024, 2025))  # Sunday before Spring Festival
    table = cn_holidays(range(2026, 2027))
    makeup = table.loc[table["holiday"] == "makeup_workday", "ds"].dt.date.tolist()
    assert date(2026, 2, 14) in makeup and date(2026, 10, 10) in makeup
    assert all(d.weekday() >= 5 for d in makeup)


def test_only_holidays_seen_in_the_history_are_modelled(make_series):
    around_cny = fit(make_series(start="2026-02-01"))  # holds the 14 February make-up Saturday
    assert set(around_cny.prophet.holidays["holiday"]) == {"spring_festival", "makeup_workday"}
    assert fit(make_series(start="2026-05-12")).prophet.holidays is None


def test_to_json_round_trips_and_predictions_are_equal(model):
    text = to_json(model)
    assert json.loads(text)["format_version"] == 1
    loaded = from_json(text)
    assert loaded.config == model.config
    pd.testing.assert_frame_equal(predict(loaded, 24), predict(model, 24))


def test_unknown_format_version_raises(model):
    doc = json.loads(to_json(model))
    doc["format_version"] = 99
    with pytest.raises(ModelFormatError, match="unknown format_version 99"):
        from_json(json.dumps(doc))
    with pytest.raises(ModelFormatError, match="no format_version"):
        from_json(json.dumps({"prophet": {}}))


def test_committed_v1_fixture_keeps_loading():
    fc = predict(from_json(FIXTURE.read_text()), 3)
    assert fc["ds"].tolist() == list(pd.date_range("2025-05-05", periods=3, freq="h"))
    np.testing.assert_allclose(fc["yhat"], [10.2286845, 11.0140575, 11.6810780], rtol=1e-6)
    np.testing.assert_allclose(fc["yhat_upper"] - fc["yhat_lower"], 1.0397896, rtol=1e-5)


def test_too_short_history_raises_forecast_skipped(make_series):
    with pytest.raises(ForecastSkipped, match="10 usable points") as info:
        fit(make_series(n=10))
    assert "min_history_points" in info.value.reason


def test_nan_rows_count_as_missing_not_as_points(make_series):
    history = make_series(n=100)
    history.loc[::2, "y"] = np.nan
    with pytest.raises(ForecastSkipped, match="50 usable points"):
        fit(history)


def test_gaps_duplicates_and_late_rows_are_tolerated(make_series):
    history = make_series(n=240)
    late = history.iloc[[5, 6]].assign(y=999.0)  # corrections arriving after the fact
    messy = pd.concat([history.drop(index=range(100, 130)), late]).sample(frac=1, random_state=1)
    model = fit(messy)
    assert model.n_points == 210
    assert model.prophet.history.set_index("ds").loc[history["ds"][5], "y"] == 999.0


def test_timezone_aware_ds_is_rejected(make_series):
    history = make_series().assign(ds=lambda d: d["ds"].dt.tz_localize("Asia/Shanghai"))
    with pytest.raises(ValueError, match="timezone-aware"):
        fit(history)


def test_warm_start_params_are_json_and_seed_the_next_fit(model, make_series):
    params = warm_start_params(model)
    assert set(params) == {"k", "m", "sigma_obs", "delta", "beta"}
    json.dumps(params)
    refit = fit(make_series(n=21 * 24 + 24).iloc[24:], warm_start=params)
    assert refit.prophet.fit_kwargs["init"]["k"] == pytest.approx(params["k"])


def test_monte_carlo_band_is_reproducible_with_the_seed(make_series):
    model = fit(make_series(), ProphetConfig(uncertainty_samples=50))
    pd.testing.assert_frame_equal(predict(model, 12), predict(model, 12))
