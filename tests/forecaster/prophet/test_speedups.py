from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from forecaster.prophet import model as model_module
from forecaster.prophet import speedups
from forecaster.prophet.model import ProphetConfig, fit, predict, warm_start_params
from forecaster.prophet.speedups import components, fast_prophet, write_stan_json


@pytest.mark.parametrize(
    ("start", "mode"),
    [("2025-03-01", "additive"), ("2026-02-01", "multiplicative")],  # 2026-02: Spring Festival
)
def test_numpy_components_match_prophet_predict(make_series, start, mode):
    model = fit(make_series(n=28 * 24, start=start), ProphetConfig(seasonality_mode=mode))
    future = pd.DataFrame({"ds": pd.date_range(model.last_ds, periods=49, freq="h")[1:]})
    expected = model.prophet.predict(future)
    got = components(model.prophet, future["ds"])
    for column in ("trend", "additive_terms", "multiplicative_terms", "yhat"):
        assert np.allclose(got[column], expected[column], rtol=0, atol=1e-9), column


def test_stan_json_keeps_ints_and_every_digit(tmp_path):
    data = {
        "T": 3,
        "y": np.array([0.1, 1 / 3, 2.0]),
        "X": pd.DataFrame([[1e-17, 2.5], [3.0, -4.0]]),
    }
    back = json.loads(open(write_stan_json(tmp_path / "d.json", data)).read())
    assert back["T"] == 3 and isinstance(back["T"], int)
    assert back["y"] == [0.1, 1 / 3, 2.0] and back["X"] == [[1e-17, 2.5], [3.0, -4.0]]


@pytest.mark.parametrize(
    ("start", "mode"),
    [("2025-03-01", "additive"), ("2026-02-01", "additive"), ("2026-09-20", "multiplicative")],
)
def test_fast_feature_helpers_return_what_prophet_returns(make_series, start, mode):
    from prophet import Prophet

    model = fit(make_series(n=28 * 24, start=start), ProphetConfig(seasonality_mode=mode)).prophet
    history = model.history
    fast = model.make_all_seasonality_features(history)  # FastProphet's overrides
    model.__class__ = Prophet  # prophet's own helpers; they also check the fitted columns
    try:
        slow = model.make_all_seasonality_features(history)
    finally:
        model.__class__ = fast_prophet()
    pd.testing.assert_frame_equal(fast[2], slow[2])  # component columns, dtypes, order, names
    pd.testing.assert_frame_equal(model.train_component_cols, slow[2])
    assert fast[3] == slow[3]  # modes
    pd.testing.assert_frame_equal(fast[0], slow[0], rtol=0, atol=1e-9)  # Fourier features


def through_cmdstanpy():
    """The fast backend with an explicit (default) ``iter``, which sends it through
    ``CmdStanModel.optimize`` as before the direct run."""
    backend = speedups.fast_backend()
    direct = backend.fit
    backend.fit = lambda stan_init, data, **kw: direct(stan_init, data, iter=10_000, **kw)
    return backend


@pytest.mark.parametrize(
    ("n", "start", "warm"),
    [(28 * 24, "2025-03-01", False), (28 * 24, "2026-02-01", True), (80, "2025-03-01", False)],
    ids=["lbfgs", "lbfgs-warm-holidays", "newton"],
)
def test_the_direct_cmdstan_run_fits_what_cmdstanpy_fits_bit_for_bit(
    make_series, monkeypatch, n, start, warm
):
    history = make_series(n=n, start=start)
    warm_start = warm_start_params(fit(history.iloc[:-1])) if warm else None
    direct = fit(history, warm_start=warm_start)
    monkeypatch.setattr(model_module, "fast_backend", through_cmdstanpy)
    before = fit(history, warm_start=warm_start)
    assert direct.prophet.stan_fit is None and before.prophet.stan_fit is not None
    assert direct.prophet.params.keys() == before.prophet.params.keys()
    for name, value in before.prophet.params.items():
        assert np.array_equal(direct.prophet.params[name], value), name
    pd.testing.assert_frame_equal(predict(direct, 48), predict(before, 48), rtol=0, atol=0)


def test_a_failing_cmdstan_run_raises_with_its_last_words(tmp_path):
    exe = str(speedups.fast_backend().model.exe_file)
    data = write_stan_json(tmp_path / "data.json", {"T": 3})
    inits = write_stan_json(tmp_path / "inits.json", {})
    with pytest.raises(RuntimeError, match="CmdStan optimize failed"):
        speedups.optimize_direct(exe, data, inits, "LBFGS")


HOLIDAYS = pd.DataFrame(
    {
        "holiday": ["spring", "spring", "qingming", "fit_only", "window_nan"],
        "ds": pd.to_datetime(["2026-02-17", "2027-02-06", "2026-04-05", None, "2026-02-20"]),
        "lower_window": [-2, -2, 0, np.nan, np.nan],
        "upper_window": [3, 3, 1, np.nan, 2],
        "prior_scale": [5.0, 5.0, np.nan, np.nan, 2.0],
    }
)


@pytest.mark.parametrize(
    "dates",
    [
        pd.Series(pd.date_range("2026-02-10", periods=30 * 24, freq="h")),
        pd.Series(pd.date_range("2026-02-10", periods=30 * 24, freq="h")[::-1]),  # unsorted
        pd.Series(pd.to_datetime(["2026-02-15 23:59", "2026-02-16 00:00", "2026-02-16 00:00"])),
        pd.Series(pd.date_range("2026-06-01", periods=48, freq="h")),  # no holiday inside
    ],
    ids=["hourly", "unsorted", "day-edges-and-duplicates", "none-inside"],
)
@pytest.mark.parametrize("columns", [list(HOLIDAYS.columns), ["holiday", "ds"]])
def test_holiday_features_are_what_prophet_builds(dates, columns):
    from prophet import Prophet

    holidays = HOLIDAYS[columns]
    fast, slow = fast_prophet()(holidays_prior_scale=7.0), Prophet(holidays_prior_scale=7.0)
    got = fast.make_holiday_features(dates, holidays)
    expected = slow.make_holiday_features(dates, holidays)
    pd.testing.assert_frame_equal(got[0], expected[0])
    assert got[1:] == expected[1:]  # prior scales per column, holiday names
    pd.testing.assert_series_equal(fast.train_holiday_names, slow.train_holiday_names)


@pytest.mark.parametrize(
    ("scales", "message"),
    [([1.0, 2.0], "does not have consistent prior scale"), ([0.0, 0.0], "must be > 0")],
)
def test_holiday_features_refuse_what_prophet_refuses(scales, message):
    from prophet import Prophet

    holidays = pd.DataFrame(
        {"holiday": ["a", "a"], "ds": pd.to_datetime(["2026-01-01", "2027-01-01"]),
         "prior_scale": scales}
    )  # fmt: skip
    dates = pd.Series(pd.date_range("2026-01-01", periods=24, freq="h"))
    for model in (fast_prophet()(), Prophet()):
        with pytest.raises(ValueError, match=message):
            model.make_holiday_features(dates, holidays)


@pytest.mark.parametrize(
    ("start", "mode"), [("2026-02-01", "additive"), ("2026-02-01", "multiplicative")]
)
def test_the_fits_own_history_matrix_is_the_one_components_would_build(make_series, start, mode):
    model = fit(make_series(n=28 * 24, start=start), ProphetConfig(seasonality_mode=mode)).prophet
    kept = speedups.history_features(model)
    assert kept is not None
    built = speedups._features(model, model.history["ds"].reset_index(drop=True))
    np.testing.assert_allclose(kept[0], built[0], rtol=0, atol=1e-12)
    assert kept[1].tolist() == built[1].tolist()
    ds = model.history["ds"]
    pd.testing.assert_frame_equal(components(model, ds, kept), components(model, ds))


def test_a_model_fitted_without_the_fast_class_builds_its_matrix_again(make_series):
    from prophet import Prophet

    model = Prophet(weekly_seasonality=True, daily_seasonality=True)
    model.fit(make_series(n=10 * 24, start="2025-03-01"))
    assert speedups.history_features(model) is None
