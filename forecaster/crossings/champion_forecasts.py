"""The forecast each series' warning champion reads in the cycle: Prophet's, a baseline's (a
seasonal naive's) computed from the series' own window, or the blend of Prophet with a baseline
(``blend``).

Stored indicators are counts, rates or durations, so the baselines and the blends are clipped
at zero, as the backtest of stored indicators clips them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

import pandas as pd
from sqlalchemy.engine import Connection

from forecaster.backtest.baselines import BASELINES
from forecaster.crossings.blend import blend
from forecaster.crossings.decision import DecisionRule
from forecaster.errors import ForecastSkipped
from forecaster.series import SeriesKey, load_histories, to_utc


def warning_forecasts(
    conn: Connection,
    keys: Mapping[int, SeriesKey],
    rules: Mapping[int, DecisionRule],
    prophet: Mapping[int, pd.DataFrame],
    *,
    since: datetime,
    until: datetime,
    horizon: int,
) -> dict[int, pd.DataFrame]:
    """Per series of ``rules``, the forecast its rule reads (``ds`` as UTC instants); a series
    without one is left out and publishes no crossing this cycle."""
    # A blend without Prophet's forecast (the fit failed or was skipped; forecast_failure says
    # why) would be the baseline alone, a candidate the backtest scored separately and did not
    # choose: such a series publishes nothing rather than another method's warning.
    reads = {
        sid: rule.baseline
        for sid, rule in rules.items()
        if rule.baseline and (sid in prophet or not rule.is_blend)
    }
    base = baseline_forecasts(conn, [keys[sid] for sid in reads], reads, since, until, horizon)
    out: dict[int, pd.DataFrame] = {}
    for sid, rule in rules.items():
        if rule.is_blend and sid in base:
            out[sid] = blend(prophet[sid], base[sid], non_negative=True)
        elif rule.baseline and not rule.is_blend and sid in base:
            out[sid] = base[sid]  # published even when Prophet failed on the series
        elif not rule.baseline and sid in prophet:
            out[sid] = prophet[sid]
    return out


def baseline_forecasts(
    conn: Connection,
    keys: list[SeriesKey],
    baselines: Mapping[int, str],
    since: datetime,
    until: datetime,
    horizon: int,
) -> dict[int, pd.DataFrame]:
    """Each series' projection by its baseline (a ``baselines.BASELINES`` name: the value one
    season back, or the weekly mean, with its band from the history's own errors), ``ds`` as
    UTC instants; one read of their windows for all of them."""
    out: dict[int, pd.DataFrame] = {}
    for key, history in load_histories(conn, keys, since, until):
        forecaster: Callable[..., pd.DataFrame] = BASELINES[baselines[key.series_id]]
        try:
            fc = forecaster(history, horizon, non_negative=True)  # all take non_negative
        except ForecastSkipped:
            continue  # less history than the baseline needs: none this cycle
        out[key.series_id] = fc.assign(ds=to_utc(fc["ds"], key.timezone))
    return out
