"""The forecast each series' warning champion reads in the cycle: Prophet's, a seasonal naive's
computed from the series' own window, or the blend of both (``blend``).

Stored indicators are counts, rates or durations, so the naive and the blend are clipped at
zero, as the backtest of stored indicators clips them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import pandas as pd
from sqlalchemy.engine import Connection

from forecaster.backtest.baselines import seasonal_naive
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
    # why) would be the naive alone, a candidate the backtest scored separately and did not
    # choose: such a series publishes nothing rather than another method's warning.
    seasons = {
        sid: rule.season_hours
        for sid, rule in rules.items()
        if rule.season_hours and (sid in prophet or not rule.is_blend)
    }
    naive = seasonal_naives(conn, [keys[sid] for sid in seasons], seasons, since, until, horizon)
    out: dict[int, pd.DataFrame] = {}
    for sid, rule in rules.items():
        if rule.is_blend and sid in naive:
            out[sid] = blend(prophet[sid], naive[sid], non_negative=True)
        elif rule.season_hours and not rule.is_blend and sid in naive:
            out[sid] = naive[sid]  # published even when Prophet failed on the series
        elif not rule.season_hours and sid in prophet:
            out[sid] = prophet[sid]
    return out


def seasonal_naives(
    conn: Connection,
    keys: list[SeriesKey],
    seasons: Mapping[int, int],
    since: datetime,
    until: datetime,
    horizon: int,
) -> dict[int, pd.DataFrame]:
    """The seasonal-naive projection (``baselines.seasonal_naive``: the value one season back,
    its band from the seasonal differences) of each series, ``ds`` as UTC instants; one read
    of their windows for all of them."""
    out: dict[int, pd.DataFrame] = {}
    for key, history in load_histories(conn, keys, since, until):
        season = seasons[key.series_id]
        try:
            fc = seasonal_naive(history, horizon, season_hours=season, non_negative=True)
        except ForecastSkipped:
            continue  # less than one season of history: no baseline this cycle
        out[key.series_id] = fc.assign(ds=to_utc(fc["ds"], key.timezone))
    return out
