from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from forecaster.prophet.model import ProphetConfig, fit
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
