"""Always-on challengers (reference §4): each costs 1-3 ms per series (672 hours, 2 cores).

Every forecaster is ``(history[ds, y], horizon_hours) -> DataFrame[ds, yhat, yhat_lower,
yhat_upper]`` with the same contract as ``prophet.model.predict``, so ``threshold_crossing`` and
the backtests treat them alike. History is put on a regular ``freq`` grid first (mean per bucket;
gaps stay NaN). Bands are normal with the benchmark-method sigma of Hyndman & Athanasopoulos,
*Forecasting: Principles and Practice* (3rd ed.) §5.5, estimated from the history itself.

- ``persistence``: last value; the no-forecast control, lead time 0 by construction.
- ``seasonal_naive``: the value one season earlier (24 h or 168 h); hard to beat on F1 for
  seasonal metrics.
- ``weekly_mean``: the mean of the same hour of the week over the last ``weeks`` weeks; steadier
  than one week back where single days are noisy, slower where the level moves.
- ``linear_extrapolation``: OLS over the last ``window_hours`` (``predict_linear`` style); for
  trending gauges such as a backlog.
- ``static_deadline_rule``: warn when a fixed share of a lot's allowed dwell has elapsed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import pandas as pd

from forecaster.crossings.threshold_crossing import interval_z
from forecaster.errors import ForecastSkipped

Forecaster = Callable[[pd.DataFrame, int], pd.DataFrame]


def _grid(history: pd.DataFrame, freq: str) -> pd.Series:
    regular = _regular_grid(history, freq)
    if regular is not None:
        return regular
    s = history.assign(ds=pd.to_datetime(history["ds"])).dropna(subset=["y"])
    if s.empty:
        raise ForecastSkipped("no usable points")
    return s.set_index("ds")["y"].astype(float).resample(freq).mean()


def _regular_grid(history: pd.DataFrame, freq: str) -> pd.Series | None:
    """The grid of a window already on it (sorted, at most one point per step, every time a
    whole step from midnight), in numpy: what the cycle and the backtests read from
    metric_hourly. pandas' resample took ~4 ms a series, most of a baseline forecast's cost.
    None for anything else, which goes through pandas."""
    step = _tick_ns(freq)
    ds, y = history["ds"], history["y"]
    if step is None or (86_400 * 10**9) % step or ds.dtype.kind != "M":
        return None
    if y.dtype.kind not in "fiu":
        return None
    values = y.to_numpy(dtype=float)
    usable = ~np.isnan(values)
    unit = np.datetime_data(ds.dtype)[0]
    ns = ds.to_numpy().astype("datetime64[ns]").astype(np.int64)[usable]
    if not len(ns) or (ns % step).any() or (np.diff(ns) <= 0).any():
        return None
    offsets = (ns - ns[0]) // step
    grid = np.full(int(offsets[-1]) + 1, np.nan)
    grid[offsets] = values[usable]
    first = pd.Timestamp(ns[0])
    index = pd.date_range(first, periods=len(grid), freq=freq, name="ds", unit=unit)
    return pd.Series(grid, index=index, name="y")


def _tick_ns(freq: str) -> int | None:
    offset = pd.tseries.frequencies.to_offset(freq)
    return int(offset.nanos) if isinstance(offset, pd.offsets.Tick) else None


def _frame(
    last: pd.Timestamp,
    freq: str,
    yhat: np.ndarray,
    sigma: np.ndarray,
    interval_width: float,
    non_negative: bool,
) -> pd.DataFrame:
    ds = pd.date_range(last, periods=len(yhat) + 1, freq=freq)[1:]
    half = interval_z(interval_width) * sigma
    columns = {"yhat": yhat, "yhat_lower": yhat - half, "yhat_upper": yhat + half}
    if non_negative:  # in numpy: DataFrame.clip cost ~3 ms a forecast
        columns = {name: np.maximum(values, 0.0) for name, values in columns.items()}
    return pd.DataFrame({"ds": ds, **columns})


def _steps(horizon_hours: int, freq: str) -> int:
    return int(
        pd.Timedelta(hours=horizon_hours) / pd.to_timedelta(pd.tseries.frequencies.to_offset(freq))
    )


def _rms(values: pd.Series) -> float:
    v = values.dropna().to_numpy(dtype=float)
    return float(np.sqrt(np.mean(v**2))) if len(v) else 0.0


def persistence(
    history: pd.DataFrame,
    horizon_hours: int,
    *,
    freq: str = "h",
    interval_width: float = 0.8,
    non_negative: bool = False,
) -> pd.DataFrame:
    """Last observed value; sigma_h = rms(one-step change) * sqrt(h) (random walk)."""
    s = _grid(history, freq)
    h = np.arange(1, _steps(horizon_hours, freq) + 1)
    last_value = float(s.dropna().iloc[-1])
    sigma = _rms(s.diff()) * np.sqrt(h)
    return _frame(
        s.index[-1], freq, np.full(len(h), last_value), sigma, interval_width, non_negative
    )


def seasonal_naive(
    history: pd.DataFrame,
    horizon_hours: int,
    *,
    season_hours: int = 24,
    freq: str = "h",
    interval_width: float = 0.8,
    non_negative: bool = False,
) -> pd.DataFrame:
    """Value one season back; sigma_h = rms(seasonal difference) * sqrt(k + 1), k = seasons ahead.

    A missing value in the last season is taken from earlier seasons, then from the previous
    hour. Raises ``ForecastSkipped`` with less than one season of history.
    """
    s = _grid(history, freq)
    m = _steps(season_hours, freq)
    if len(s) < m:
        raise ForecastSkipped(f"{len(s)} grid points, seasonal naive needs {m}")
    values = s.to_numpy(dtype=float)
    filled = values.copy()
    for k in range(1, len(values) // m + 1):  # in numpy: a pandas shift a season cost ~0.5 ms
        gaps = np.isnan(filled[k * m :])
        if not gaps.any():
            break
        filled[k * m :][gaps] = values[: len(values) - k * m][gaps]
    season = pd.Series(filled).ffill().bfill().to_numpy()[-m:]
    h = np.arange(1, _steps(horizon_hours, freq) + 1)
    yhat = season[(h - 1) % m]
    sigma = _rms(s - s.shift(m)) * np.sqrt((h - 1) // m + 1)
    return _frame(s.index[-1], freq, yhat, sigma, interval_width, non_negative)


def weekly_mean(
    history: pd.DataFrame,
    horizon_hours: int,
    *,
    weeks: int = 3,
    freq: str = "h",
    interval_width: float = 0.8,
    non_negative: bool = False,
) -> pd.DataFrame:
    """Mean of the same hour of the week over the last ``weeks`` weeks (those of them the
    history has; missing values skipped); sigma_h = rms(in-sample error of the same mean, one
    week ahead) * sqrt(k + 1), k = weeks ahead.

    An hour with no value in any of those weeks takes the previous hour's mean. Raises
    ``ForecastSkipped`` with less than one week of history.
    """
    s = _grid(history, freq)
    m = _steps(168, freq)
    if len(s) < m:
        raise ForecastSkipped(f"{len(s)} grid points, a weekly mean needs {m}")
    # mean_t = mean(y_t, y_t-1w, ...): the forecast of t + 1 week made at t
    mean = pd.concat([s.shift(k * m) for k in range(weeks)], axis=1).mean(axis=1)
    profile = mean.ffill().bfill().to_numpy()[-m:]
    h = np.arange(1, _steps(horizon_hours, freq) + 1)
    sigma = _rms(s - mean.shift(m)) * np.sqrt((h - 1) // m + 1)
    return _frame(s.index[-1], freq, profile[(h - 1) % m], sigma, interval_width, non_negative)


def linear_extrapolation(
    history: pd.DataFrame,
    horizon_hours: int,
    *,
    window_hours: int = 6,
    freq: str = "h",
    interval_width: float = 0.8,
    non_negative: bool = False,
) -> pd.DataFrame:
    """OLS line through the last ``window_hours`` of observations, extended over the horizon.

    Interval: OLS prediction interval s * sqrt(1 + 1/n + (x - mean x)^2 / Sxx); with fewer than
    3 points s falls back to the one-step change rms, and with 1 point the slope is 0.
    """
    s = _grid(history, freq)
    last = s.index[-1]
    recent = s[s.index > last - pd.Timedelta(hours=window_hours)].dropna()
    x = ((recent.index - last) / pd.Timedelta(hours=1)).to_numpy(dtype=float)
    y = recent.to_numpy(dtype=float)
    n, xbar = len(x), float(x.mean())
    sxx = float(((x - xbar) ** 2).sum())
    slope = float(((x - xbar) * (y - y.mean())).sum() / sxx) if sxx > 0 else 0.0
    intercept = float(y.mean()) - slope * xbar
    step_h = pd.to_timedelta(pd.tseries.frequencies.to_offset(freq)) / pd.Timedelta(hours=1)
    xh = np.arange(1, _steps(horizon_hours, freq) + 1) * step_h
    resid = y - (intercept + slope * x)
    s_res = float(np.sqrt((resid**2).sum() / (n - 2))) if n > 2 else _rms(s.diff())
    spread = 1 + 1 / n + ((xh - xbar) ** 2 / sxx if sxx > 0 else 0.0)
    return _frame(
        last, freq, intercept + slope * xh, s_res * np.sqrt(spread), interval_width, non_negative
    )


BASELINES: dict[str, Forecaster] = {
    "persistence": persistence,
    "seasonal_naive_24h": partial(seasonal_naive, season_hours=24),
    "seasonal_naive_168h": partial(seasonal_naive, season_hours=168),
    "weekly_mean_3w": partial(weekly_mean, weeks=3),
    "linear_6h": partial(linear_extrapolation, window_hours=6),
}
"""The challengers the backtest runs, by name (its method names use these keys); the two
seasonal-naive ones may become an indicator's warning champion (``decision.SEASONAL_NAIVE``),
and a blend of Prophet with a seasonal naive or the weekly mean may too (``decision.BLEND``)."""


def static_deadline_rule(
    lots: pd.DataFrame, fraction: float = 0.8, now: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Warn once ``fraction`` of the allowed dwell (``deadline_at - arrived_at``) has elapsed.

    Input columns ``lot_id, arrived_at, deadline_at`` (and optionally ``now``). Returns
    ``lot_id, warn_at`` plus a boolean ``warn`` (``now >= warn_at``) when a ``now`` argument or
    column is available.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    arrived = pd.to_datetime(lots["arrived_at"])
    warn_at = arrived + fraction * (pd.to_datetime(lots["deadline_at"]) - arrived)
    out = pd.DataFrame({"lot_id": lots["lot_id"], "warn_at": warn_at})
    at = now if now is not None else lots.get("now")
    if at is not None:
        out["warn"] = pd.to_datetime(at) >= warn_at
    return out
