from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecaster.crossings.threshold_crossing import (
    breach_probability,
    calibrate,
    first_crossing,
    first_edge_crossing,
    interval_z,
    step_probabilities,
)

NOW = pd.Timestamp("2025-06-01 00:00")


def forecast(yhat: list[float] | np.ndarray, sigma: float = 1.0) -> pd.DataFrame:
    """Hourly forecast after NOW with an 80 % band of +-z*sigma."""
    yhat = np.asarray(yhat, dtype=float)
    half = interval_z(0.8) * sigma
    ds = pd.date_range(NOW + pd.Timedelta(hours=1), periods=len(yhat), freq="h")
    return pd.DataFrame(
        {"ds": ds, "yhat": yhat, "yhat_lower": yhat - half, "yhat_upper": yhat + half}
    )


def test_a_rising_line_crosses_at_the_expected_hour():
    crossing = first_crossing(forecast(10 + np.arange(1, 25)), 15.5, "above", NOW)
    assert crossing is not None
    assert crossing.at == NOW + pd.Timedelta(hours=6)  # yhat 16 at +6 h
    assert crossing.lead == pd.Timedelta(hours=6)
    assert crossing.yhat == 16.0
    assert crossing.probability == pytest.approx(1.0)


def test_no_crossing_returns_none():
    assert first_crossing(forecast(np.full(24, 10.0)), 20.0, "above", NOW) is None


def test_probability_increases_as_the_threshold_approaches_yhat():
    fc = forecast(np.full(12, 10.0))
    probs = [breach_probability(fc, t) for t in (14, 13, 12, 11, 10)]
    assert probs == sorted(probs) and probs[0] < probs[-1]
    assert probs[-1] == pytest.approx(0.5)
    assert breach_probability(fc, 11.0) == pytest.approx(0.158655, abs=1e-5)  # one sigma


def test_below_direction_finds_a_falling_line():
    crossing = first_crossing(forecast(10 - np.arange(1, 25)), 3.0, "below", NOW)
    assert crossing is not None and crossing.lead == pd.Timedelta(hours=7)
    above = first_crossing(forecast(10 - np.arange(1, 25)), 3.0, "above", NOW)
    assert above is not None and above.lead == pd.Timedelta(hours=1)  # already above at +1 h


def test_edge_rule_warns_earlier_than_the_yhat_rule():
    fc = forecast(10 + np.arange(1, 25), sigma=2.0)
    edge = first_edge_crossing(fc, 20.0, "above", NOW)
    point = first_crossing(fc, 20.0, "above", NOW)
    assert edge is not None and point is not None
    assert edge.at < point.at
    assert fc.loc[fc["ds"] == edge.at, "yhat_upper"].iloc[0] >= 20.0


def test_probability_rule_uses_the_cut_off():
    fc = forecast(np.full(6, 10.0))
    assert first_crossing(fc, 11.0, now=NOW, rule="probability", min_probability=0.15)
    assert first_crossing(fc, 11.0, now=NOW, rule="probability", min_probability=0.2) is None


def test_rows_at_or_before_now_are_ignored():
    fc = forecast([30.0, 1.0, 1.0, 30.0])
    crossing = first_crossing(fc, 20.0, "above", NOW + pd.Timedelta(hours=1))
    assert crossing is not None and crossing.at == NOW + pd.Timedelta(hours=4)


def test_a_band_clipped_at_zero_keeps_its_upper_half():
    fc = forecast([0.5], sigma=1.0).assign(yhat_lower=0.0)
    assert step_probabilities(fc, 1.5)[0] == pytest.approx(0.158655, abs=1e-5)


def test_zero_width_band_is_certain():
    fc = forecast([5.0, 6.0], sigma=0.0)
    assert step_probabilities(fc, 6.0).tolist() == [0.0, 1.0]


def test_calibration_pools_violators():
    cal = calibrate([0.1, 0.2, 0.8, 0.9], [0, 1, 0, 1])
    assert list(cal.y) == [0.0, 0.5, 0.5, 1.0]
    assert cal([0.0, 0.5, 1.0]).tolist() == [0.0, 0.5, 1.0]


def test_calibration_rejects_empty_input():
    with pytest.raises(ValueError):
        calibrate([], [])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0.0, 1.0), st.booleans()),
        min_size=1,
        max_size=60,
    )
)
def test_calibration_is_monotonic_and_a_probability(pairs):
    probs, outcomes = zip(*pairs, strict=True)
    cal = calibrate(probs, outcomes)
    mapped = cal(np.linspace(-0.1, 1.1, 101))
    assert np.all(np.diff(mapped) >= -1e-12)
    assert mapped.min() >= 0.0 and mapped.max() <= 1.0
    # Isotonic regression preserves the overall outcome rate.
    assert np.mean(cal(probs)) == pytest.approx(np.mean(outcomes))
