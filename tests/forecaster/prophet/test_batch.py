from __future__ import annotations

import pandas as pd
import pytest

from forecaster.prophet.batch import FAST_CONFIG, fit_many, forecast_one


@pytest.fixture(scope="module")
def results(make_series):
    series = [(f"site-{i}", make_series(seed=i)) for i in range(5)]
    series.insert(2, ("broken", pd.DataFrame({"ds": [1, 2, 3], "value": [1.0, 2.0, 3.0]})))
    return fit_many(iter(series), FAST_CONFIG, workers=2, horizon_hours=24)


def test_fit_many_returns_one_result_per_series_in_input_order(results):
    assert list(results) == ["site-0", "site-1", "broken", "site-2", "site-3", "site-4"]
    assert all(key == result.key for key, result in results.items())


def test_an_invalid_series_is_recorded_as_an_error_while_others_succeed(results):
    broken = results.pop("broken")
    assert not broken.ok and broken.forecast is None
    assert broken.error is not None and broken.error.startswith("ValueError: history needs")
    for result in results.values():
        assert result.ok and result.error is None and result.skipped is None
        assert list(result.forecast.columns) == ["ds", "yhat", "yhat_lower", "yhat_upper"]
        assert len(result.forecast) == 24
        assert set(result.warm_start) == {"k", "m", "sigma_obs", "delta", "beta"}


def test_too_little_data_is_recorded_as_skipped_not_as_an_error(make_series):
    result = forecast_one("tiny", make_series(n=12))
    assert not result.ok and result.error is None
    assert "12 usable points" in (result.skipped or "")


def test_warm_starts_are_passed_through_in_process(make_series):
    first = forecast_one("a", make_series(seed=1))
    again = fit_many([("a", make_series(seed=1))], workers=1, warm_starts={"a": first.warm_start})
    assert again["a"].ok
    assert again["a"].forecast["yhat"].tolist() == pytest.approx(
        first.forecast["yhat"].tolist(), rel=1e-3
    )
