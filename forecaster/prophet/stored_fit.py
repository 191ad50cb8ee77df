"""Forecast a newer window from a stored fit, without optimising again ("fit less often,
predict from stored models").

A fit is the Stan optimum (``k, m, delta, beta, sigma_obs``: the warm-start parameters) plus
what the parameters are relative to: the time origin and scale, the value scale, the
changepoint dates and the names of the seasonal and holiday features. ``fit_state`` keeps that
frame (a few hundred bytes); ``refreshed`` rebuilds the model on a newer window in the stored
frame, so the fitted curve is exactly the stored one, evaluated at the new hours. What the
newer hours add is read through the residual carry (``model.predict``): the AR(1) forecast of
the error of the latest observations under the stored curve, so a level shift since the fit
moves the forecast at once, and the trend's uncertainty keeps growing from the fit's end.

``StaleFit`` says the stored frame does not describe the new window (a holiday entered or left
it, the settings changed, a changepoint slid out of it): the caller fits instead.

``forecast_from_stored`` is what the cycle calls: the same forecast as
``predict(refreshed(...))`` computed in numpy from the stored parameters and frame, without
building a Prophet object. Building one and letting it prepare the window cost ~30 ms of pandas
per series (its own dataframe setup, feature frames, the holiday table), most of a forecast
from a stored fit; the arrays take ~2 ms. It covers the models the cycle makes (linear growth,
the seasonalities of ``ProphetConfig``, the port holidays, the analytic band); for anything
else (Monte-Carlo bands, a layout it does not rebuild exactly) it hands over to ``refreshed``
and ``predict``, and a test holds the two to 1e-9 on windows with and without holidays.
"""

from __future__ import annotations

import dataclasses
import warnings
from datetime import datetime
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from forecaster.crossings.threshold_crossing import interval_z
from forecaster.errors import ForecastError, ForecastSkipped
from forecaster.holidays import overlapping_key, overlapping_table
from forecaster.prophet.model import (
    COLUMNS,
    FittedModel,
    ProphetConfig,
    clean,
    new_prophet,
    predict,
    residual_carry,
)
from forecaster.prophet.speedups import fourier

FIT_STATE_FORMAT = 1
"""Version of a ``fit_state`` document; another version is a ``StaleFit``, never misread."""


class StaleFit(ForecastError, ValueError):
    """The stored fit cannot forecast this window as it is; fit the series instead."""


def fit_state(model: FittedModel) -> dict[str, Any]:
    """The frame of a fit's parameters, JSON-ready: what ``refreshed`` needs besides them."""
    m = model.prophet
    return {
        "format": FIT_STATE_FORMAT,
        "config": settings_key(model.config),
        "start": pd.Timestamp(m.start).isoformat(),
        "t_scale_s": pd.Timedelta(m.t_scale).total_seconds(),
        "y_scale": float(m.y_scale),
        "changepoints": [pd.Timestamp(c).isoformat() for c in m.changepoints],
        "features": features(m),
    }


def features(prophet: Any) -> list[str]:
    """The model's seasonal and holiday components with their feature counts, in order:
    ``["daily:20", "weekly:6", "春节:15", ...]``: a holiday entering or leaving the window
    changes it."""
    cols = prophet.train_component_cols
    return [f"{name}:{int(cols[name].sum())}" for name in cols.columns]


def settings_key(cfg: ProphetConfig) -> str:
    """The settings a fit was made with, as one comparable string."""
    return repr(sorted(dataclasses.asdict(cfg).items()))


def refreshed(
    history: pd.DataFrame, cfg: ProphetConfig, params: dict[str, Any], state: dict[str, Any]
) -> FittedModel:
    """The stored fit (``params``: its warm-start parameters, ``state``: its ``fit_state``) on
    ``history``, a newer window of the same series: ``model.predict`` forecasts from its end.
    Raises ``StaleFit`` when the stored frame does not fit this window, ``ForecastSkipped``
    when the window has too few points, as ``fit`` does."""
    if state.get("format") != FIT_STATE_FORMAT or state.get("config") != settings_key(cfg):
        raise StaleFit("the fit was made with other settings")
    df = clean(history, cfg)
    changepoints = pd.to_datetime(pd.Series(state["changepoints"], dtype=object))
    if len(changepoints) and changepoints.min() <= df["ds"].min():
        raise StaleFit("a changepoint of the stored fit is no longer inside the window")
    model = new_prophet(cfg, df, changepoints=list(changepoints))
    start, t_scale = pd.Timestamp(state["start"]), pd.Timedelta(seconds=state["t_scale_s"])

    def stored_scales(initialize: bool, frame: pd.DataFrame) -> None:
        # Prophet reads its scales from the history it is given; the stored ones are the fit's.
        model.y_min, model.y_scale = 0.0, float(state["y_scale"])
        model.start, model.t_scale = start, t_scale

    model.initialize_scales = stored_scales
    model.stan_backend = _StoredOptimum(model, params, state["features"])
    model.fit(df)
    return FittedModel(model, cfg)


def _as_optimum(params: dict[str, Any]) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, dtype=float).reshape((1, -1)) for k, v in params.items()}


class _StoredOptimum:
    """A Stan backend whose optimum is the stored one: Prophet prepares the window in the
    stored frame as for a fit, and the parameters it gets back are the stored fit's."""

    stan_fit = None

    def __init__(self, model: Any, params: dict[str, Any], fitted: list[str]) -> None:
        self.model, self.params, self.fitted = model, params, fitted

    def fit(self, stan_init: dict[str, Any], stan_data: dict[str, Any], **kwargs: Any) -> Any:
        # Prophet has prepared the window (train_component_cols) when it asks for the optimum.
        if features(self.model) != self.fitted:
            raise StaleFit("the window's seasonal and holiday features differ from the fit's")
        optimum = _as_optimum(self.params)
        shapes = optimum["delta"].shape[1], optimum["beta"].shape[1]
        if shapes != (stan_data["S"], stan_data["K"]):
            raise StaleFit("the stored parameters do not match the window's model")
        return optimum


def forecast_from_stored(
    history: pd.DataFrame,
    cfg: ProphetConfig,
    params: dict[str, Any],
    state: dict[str, Any],
    horizon_hours: int,
) -> pd.DataFrame:
    """``predict(refreshed(history, cfg, params, state), horizon_hours)``, in numpy where the
    model is one it rebuilds exactly (see the module docstring); raises as ``refreshed`` does."""
    if state.get("format") != FIT_STATE_FORMAT or state.get("config") != settings_key(cfg):
        raise StaleFit("the fit was made with other settings")
    window = _arrays(history, cfg) if cfg.uncertainty_samples == 0 else None
    forecast = (
        None if window is None else _numpy_forecast(*window, cfg, params, state, horizon_hours)
    )
    if forecast is None:
        return predict(refreshed(history, cfg, params, state), horizon_hours)
    return forecast


def _arrays(history: pd.DataFrame, cfg: ProphetConfig) -> tuple[np.ndarray, np.ndarray] | None:
    """``clean``'s rows as ``ds`` (datetime64[ns]) and ``y`` (float) arrays, for the column
    types the cycle reads; None for anything else (``clean`` then decides)."""
    if not {"ds", "y"} <= set(history.columns):
        return None
    ds_col, y_col = history["ds"], history["y"]
    # numpy dtypes only: a tz-aware or nullable column goes to ``clean`` for its error or its
    # conversion.
    if not isinstance(ds_col.dtype, np.dtype) or ds_col.dtype.kind != "M":
        return None
    if not isinstance(y_col.dtype, np.dtype) or y_col.dtype.kind not in "fiu":
        return None
    ds = ds_col.to_numpy(dtype="datetime64[ns]")
    y = y_col.to_numpy(dtype=float)
    keep = np.isfinite(y) & ~np.isnat(ds)
    ds, y = ds[keep], y[keep]
    order = np.argsort(ds, kind="stable")
    ds, y = ds[order], y[order]
    # Among equal hours the stable sort keeps arrival order: the last one is the late row.
    last = np.append(ds[1:] != ds[:-1], True)
    ds, y = ds[last], y[last]
    if len(ds) < cfg.min_history_points:
        raise ForecastSkipped(
            f"{len(ds)} usable points, min_history_points is {cfg.min_history_points}"
        )
    return ds, y


# Prophet's seasonalities in the order it adds them (``set_auto_seasonalities``):
# name, ProphetConfig switch, period in days, Fourier order.
_SEASONALITIES = (
    ("yearly", "yearly_seasonality", 365.25, 10),
    ("weekly", "weekly_seasonality", 7.0, 3),
    ("daily", "daily_seasonality", 1.0, 4),
)


def _numpy_forecast(
    ds: np.ndarray,
    y: np.ndarray,
    cfg: ProphetConfig,
    params: dict[str, Any],
    state: dict[str, Any],
    horizon_hours: int,
) -> pd.DataFrame | None:
    """The forecast of the stored fit from the window's arrays; None when this model is not
    one rebuilt here exactly (the Prophet path takes it)."""
    changepoints = _instants(state["changepoints"])
    if len(changepoints) and (changepoints.min() <= ds[0] or changepoints.max() > ds[-1]):
        raise StaleFit("a changepoint of the stored fit is no longer inside the window")
    seasonal = [(n, p, o) for n, switch, p, o in _SEASONALITIES if getattr(cfg, switch)]
    layout = _holiday_layout(overlapping_key(ds) if cfg.holidays else None)
    if not seasonal and not layout[0]:
        return None  # Prophet's dummy column
    if _feature_names(seasonal, layout, cfg.seasonality_mode) != state["features"]:
        return None  # a holiday entered or left, or a layout not rebuilt here: Prophet decides
    start = np.datetime64(pd.Timestamp(state["start"]).to_datetime64(), "ns")
    t_scale_ns = float(state["t_scale_s"]) * 1e9
    y_scale = float(state["y_scale"])
    cp_t = np.sort((changepoints - start).astype(np.int64) / t_scale_ns)
    if not len(cp_t):
        cp_t = np.zeros(1)  # Prophet's dummy changepoint
    k, m, sigma_obs = (float(np.ravel(params[name])[0]) for name in ("k", "m", "sigma_obs"))
    delta = np.asarray(params["delta"], dtype=float).ravel()
    beta = np.asarray(params["beta"], dtype=float).ravel()
    if len(delta) != len(cp_t):
        raise StaleFit("the stored parameters do not match the window's model")

    def curve(at: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """yhat, the multiplicative terms and the scaled time at ``at``."""
        x = _features(at, seasonal, layout)
        if x.shape[1] != len(beta):
            raise StaleFit("the stored parameters do not match the window's model")
        t = (at - start).astype(np.int64) / t_scale_ns
        shifts = (cp_t[None, :] <= t[:, None]) * delta
        trend = ((shifts.sum(axis=1) + k) * t + (shifts * -cp_t).sum(axis=1) + m) * y_scale
        terms = x @ beta
        if cfg.seasonality_mode == "multiplicative":
            return trend * (1.0 + terms), terms, t
        return trend + terms * y_scale, np.zeros(len(at)), t

    steps = int(pd.Timedelta(hours=horizon_hours) // pd.Timedelta(hours=1))
    future = ds[-1] + np.arange(1, steps + 1) * np.timedelta64(1, "h")
    yhat, multiplicative, t = curve(future)
    lam = float(np.mean(np.abs(delta))) + 1e-8
    trend_var = (2.0 / 3.0) * len(cp_t) * lam**2 * np.clip(t - 1.0, 0, None) ** 3
    sigma = y_scale * np.sqrt(sigma_obs**2 + trend_var * (1.0 + multiplicative) ** 2)
    half = interval_z(cfg.interval_width) * sigma
    values = np.column_stack([yhat, yhat - half, yhat + half])
    if cfg.residual_ar:
        values = values + residual_carry(y - curve(ds)[0], steps)[:, None]
    if cfg.non_negative:
        values = np.clip(values, 0.0, None)
    out = pd.DataFrame(values, columns=COLUMNS[1:])
    out.insert(0, "ds", future)
    return out


def _instants(texts: list[str]) -> np.ndarray:
    """ISO timestamps (a fit's changepoints, naive local time) as datetime64[ns]: numpy reads
    them directly (pandas' format guessing cost ~1 ms a series); anything else through pandas."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # numpy warns on a zone offset: pandas reads those
            return np.array(texts, dtype="datetime64[ns]")
    except (ValueError, TypeError, UserWarning):
        parsed = pd.to_datetime(pd.Series(texts, dtype=object))
        return np.asarray(parsed.to_numpy(dtype="datetime64[ns]"))


# The holiday columns: their names sorted, and for each calendar day (days since the epoch)
# the columns that mark it; then each holiday's column count in the order the table names
# them first (Prophet's ``train_holiday_names``).
_Layout = tuple[tuple[str, ...], dict[int, list[int]], tuple[tuple[str, int], ...]]


@lru_cache(maxsize=64)
def _holiday_layout(key: tuple[int, int, tuple[str, ...]] | None) -> _Layout:
    """Prophet's ``<holiday>_delim_<+/-offset>`` columns for the holidays of ``key``
    (``overlapping_key``), as ``speedups._holiday_features`` builds them."""
    if key is None:
        return (), {}, ()
    days: dict[str, list[int]] = {}
    offsets: dict[str, set[int]] = {}
    table = overlapping_table(key)
    for holiday, at, lower, upper in zip(
        table["holiday"], table["ds"], table["lower_window"], table["upper_window"], strict=True
    ):
        day = int(np.datetime64(at, "D").astype(np.int64))
        for offset in range(int(lower), int(upper) + 1):
            name = f"{holiday}_delim_{'+' if offset >= 0 else '-'}{abs(offset)}"
            days.setdefault(name, []).append(day + offset)
            offsets.setdefault(str(holiday), set()).add(offset)
    names = tuple(sorted(days))
    marks: dict[int, list[int]] = {}
    for column, name in enumerate(names):
        for day in days[name]:
            marks.setdefault(day, []).append(column)
    return names, marks, tuple((h, len(o)) for h, o in offsets.items())


def _feature_names(seasonal: list[tuple[str, float, int]], layout: _Layout, mode: str) -> list[str]:
    """What ``features`` gives for a model with these seasonalities and holiday columns."""
    counts = {name: 2 * order for name, _, order in seasonal}
    counts.update(dict(layout[2]))
    if layout[2]:
        counts["holidays"] = len(layout[0])
    counts[f"{mode}_terms"] = sum(2 * order for _, _, order in seasonal) + len(layout[0])
    other = "multiplicative_terms" if mode == "additive" else "additive_terms"
    return [f"{name}:{counts[name]}" for name in sorted(counts)] + [f"{other}:0"]


def _features(
    at: np.ndarray, seasonal: list[tuple[str, float, int]], layout: _Layout
) -> np.ndarray:
    """The regression matrix at ``at``: each seasonality's sin/cos pairs, then the holiday
    columns (1 on the rows of the calendar days each marks)."""
    days = at.astype(np.int64) / 86_400e9
    blocks = [fourier(days, period, order) for _, period, order in seasonal]
    if layout[0]:
        block = np.zeros((len(at), len(layout[0])))
        day = at.astype("datetime64[D]").astype(np.int64)
        for d in np.unique(day).tolist():
            if d in layout[1]:
                block[np.ix_(day == d, layout[1][d])] = 1.0
        blocks.append(block)
    return np.hstack(blocks).astype(float) if blocks else np.zeros((len(at), 0))


def refit_due(series_id: int, fitted_end: datetime | None, origin: datetime, every: int) -> bool:
    """Whether a series whose window changed is fitted again now (else forecast from its stored
    fit). ``every`` hours at most apart: a fit whose history ended ``every`` hours or more before
    ``origin`` (the window's newest hour) is refitted. Refits are staggered so that about one
    series in ``every`` refits in each hourly cycle, not all of them together: a series refits
    in its own hour of each ``every``-hour turn (``series_id % every``) once its fit is an hour
    old. ``every`` 0 (or no stored fit) refits every changed window."""
    if every <= 0 or fitted_end is None:
        return True
    age_hours = (origin - fitted_end).total_seconds() / 3600
    if age_hours >= every or age_hours < 0:
        return True
    turn_hour = int(origin.timestamp() // 3600) % every
    return age_hours >= 1 and turn_hour == series_id % every
