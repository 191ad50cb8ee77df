"""What a holiday inside the window costs a fit and a forecast from a stored fit, with the speed
path's holiday features (``speedups._holiday_features``, and the in-sample matrix the fit kept:
``speedups.history_features``) against Prophet's own ``make_holiday_features`` and a rebuilt
in-sample matrix, side by side in the same process, round by round. A forecast from a stored fit
is the cycle's numpy path (``stored_fit.forecast_from_stored``) against a Prophet model rebuilt
on the window (``stored_fit.refreshed``) with Prophet's own holiday code.

Windows are 28 days of a synthetic hourly series with daily and weekly cycles, ending in the
six weeks after Spring Festival 2026 (17 February; its window, -14 to +21 days, adds 36
regressors) and, for comparison, in June, when no holiday of ``forecaster.holidays`` overlaps.
The same windows, fits and stored fits go through both paths, so the ratio is the holiday code's
alone; the largest difference between the two paths' forecasts is reported beside it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from bench.common import timed
from forecaster.prophet import speedups
from forecaster.prophet.batch import FAST_CONFIG, SeriesResult, forecast_one
from forecaster.prophet.model import predict, silence_stan_logging
from forecaster.prophet.stored_fit import refreshed

ROUNDS, WINDOW = 5, 28 * 24
ENDS = {
    "spring_festival": [pd.Timestamp("2026-02-24") + pd.Timedelta(days=5 * i) for i in range(6)],
    "no_holiday": [pd.Timestamp("2026-06-10") + pd.Timedelta(days=5 * i) for i in range(6)],
}


def window(end: pd.Timestamp, seed: int) -> pd.DataFrame:
    ds = pd.date_range(end=end, periods=WINDOW + 1, freq="h")
    t = np.arange(len(ds))
    noise = np.random.default_rng(seed).normal(0, 3, len(ds))
    y = 50 + 20 * np.sin(2 * np.pi * t / 24) + 8 * np.sin(2 * np.pi * t / 168) + noise
    return pd.DataFrame({"ds": ds, "y": y})


@contextmanager
def prophets_own() -> Iterator[None]:
    """The baseline: Prophet's own ``make_holiday_features`` and ``preprocess`` (which keeps no
    in-sample matrix, so the residual carry builds it again) on the speed path's class."""
    from prophet import Prophet

    cls = speedups.fast_prophet()
    saved = cls.make_holiday_features, cls.preprocess
    cls.make_holiday_features, cls.preprocess = Prophet.make_holiday_features, Prophet.preprocess
    try:
        yield
    finally:
        cls.make_holiday_features, cls.preprocess = saved


def prophet_refresh(key: int, w: pd.DataFrame, params: Any, state: Any) -> SeriesResult:
    """``forecast_one`` from a stored fit, through a Prophet model rebuilt on the window."""
    forecast = predict(refreshed(w, FAST_CONFIG, params, state), 48)
    return SeriesResult(key, forecast, params, refreshed=True)


def run() -> dict[str, Any]:
    silence_stan_logging()
    result: dict[str, Any] = {"benchmark_rounds": ROUNDS}
    for label, ends in ENDS.items():
        windows = [window(end, i) for i, end in enumerate(ends)]
        first = [forecast_one(i, w.iloc[:-1], FAST_CONFIG, 48) for i, w in enumerate(windows)]
        times: dict[str, list[float]] = {
            k: [] for k in ("fit", "refresh", "fit_own", "refresh_own")
        }
        worst = 0.0
        for _ in range(ROUNDS):
            for i, w in enumerate(windows):
                stored = first[i].warm_start, first[i].fit_state
                ours: dict[str, Any] = {}
                own: dict[str, Any] = {}
                for suffix, store in (("", ours), ("_own", own)):
                    with prophets_own() if suffix else nullcontext():
                        s, store["fit"] = timed(
                            partial(forecast_one, i, w, FAST_CONFIG, 48, stored[0])
                        )
                        times["fit" + suffix].append(s)
                        refresh = partial(prophet_refresh, i, w, *stored)
                        if not suffix:
                            refresh = partial(forecast_one, i, w, FAST_CONFIG, 48, *stored)
                        s, store["refresh"] = timed(refresh)
                        times["refresh" + suffix].append(s)
                for kind in ("fit", "refresh"):
                    a, b = ours[kind].forecast, own[kind].forecast
                    worst = max(worst, float(np.abs(a["yhat"] - b["yhat"]).max()))
                assert ours["refresh"].refreshed and own["refresh"].refreshed
        for kind in ("fit", "refresh"):
            fast = float(np.median(times[kind])) * 1000
            slow = float(np.median(times[kind + "_own"])) * 1000
            result[f"{label}_{kind}_ms"] = round(fast, 1)
            result[f"{label}_{kind}_prophet_holidays_ms"] = round(slow, 1)
            result[f"{label}_{kind}_speedup"] = round(slow / fast, 2)
        result[f"{label}_max_yhat_difference"] = worst
    return result
