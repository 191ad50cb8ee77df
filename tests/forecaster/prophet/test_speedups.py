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
