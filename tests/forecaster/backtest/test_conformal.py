from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecaster.backtest import rules as rb
from forecaster.backtest.conformal import band_coverage, conformal_factor, pooled, ratios

T0 = pd.Timestamp("2026-04-01")
H = pd.Timedelta(hours=1)


def test_ratios_are_error_over_the_half_width_on_the_errors_side():
    frame = pd.DataFrame(
        {
            "y": [12.0, 9.0, 10.0, 16.0, 1.0],
            "yhat": [10.0, 10.0, 10.0, 10.0, 0.0],
            "yhat_lower": [9.0, 8.0, 9.0, 9.0, 0.0],  # the last one clipped at zero
            "yhat_upper": [14.0, 14.0, 11.0, 14.0, 0.0],
        }
    )
    assert ratios(frame).tolist() == [0.5, 0.5, 0.0, 1.5, np.inf]
    inside = (frame["y"] >= frame["yhat_lower"]) & (frame["y"] <= frame["yhat_upper"])
    assert ((ratios(frame) <= 1) == inside).all()


def test_the_conformal_factor_is_the_finite_sample_quantile():
    calibration = np.arange(1, 10) / 10  # 0.1 .. 0.9, n = 9
    # ceil((9 + 1) * 0.8) = 8: the 8th smallest ratio
    assert conformal_factor(calibration, alpha=0.2) == pytest.approx(0.8)
    assert conformal_factor(calibration[:3], alpha=0.2) == np.inf  # too few for 80 %


def _cases(key: str, errors_sd: float, origins: int = 30, seed: int = 0) -> list[rb.Case]:
    """Origins 6 h apart with 24 rows each; errors N(0, sd) against a band of half-width 1."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(origins):
        now = T0 + 6 * i * H
        r = np.abs(rng.normal(0.0, errors_sd, 24))  # half-width 1: ratio = |error|
        out.append(rb.Case(key, now, np.array([now + H]), np.array([0.0]), None, 0, 24, 0, r))
    return out


def test_split_conformal_widening_brings_a_too_narrow_band_to_nominal_coverage():
    cases = _cases("narrow", errors_sd=2.0) + _cases("right", errors_sd=1 / 1.2816, seed=1)
    narrow, right = band_coverage(cases, horizon_hours=24, alpha=0.2, min_calibration=48)
    # Calibration uses only origins whose 24 h horizon ended by ``now``: not the first 5.
    assert narrow.origins == 30 - 5 and narrow.rows == 25 * 24
    assert narrow.before == pytest.approx(0.38, abs=0.05)  # P(|Z| < 0.5)
    assert narrow.after == pytest.approx(0.80, abs=0.05)
    assert narrow.median_factor == pytest.approx(2 * 1.2816, abs=0.3)
    assert right.before == pytest.approx(0.80, abs=0.05) and right.median_factor == pytest.approx(
        1.0, abs=0.15
    )
    both = pooled([narrow, right], "all")
    assert both.rows == narrow.rows + right.rows


def test_an_origin_without_enough_calibration_is_not_evaluated():
    (only,) = band_coverage(_cases("s", 1.0, origins=5), horizon_hours=24, min_calibration=48)
    assert only.origins == 0 and np.isnan(only.before) and np.isnan(only.after)
