"""Seeded synthetic hourly series shared by the forecaster tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest


def hourly_series(
    n: int = 21 * 24, seed: int = 0, start: str = "2025-03-01", level: float = 20.0
) -> pd.DataFrame:
    """Trend + 24 h + 168 h sinusoids + N(0, 1.5) noise, like reference/forecasting.md."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = (
        level
        + 0.01 * t
        + 5 * np.sin(2 * np.pi * t / 24)
        + 3 * np.sin(2 * np.pi * t / 168)
        + rng.normal(0, 1.5, n)
    )
    return pd.DataFrame({"ds": pd.date_range(start, periods=n, freq="h"), "y": y})


@pytest.fixture(scope="session")
def make_series() -> Callable[..., pd.DataFrame]:
    """``make_series(n=504, seed=0, start="2025-03-01", level=20.0) -> DataFrame[ds, y]``."""
    return hourly_series
