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
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from forecaster.errors import ForecastError
from forecaster.prophet.model import FittedModel, ProphetConfig, clean, new_prophet

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
