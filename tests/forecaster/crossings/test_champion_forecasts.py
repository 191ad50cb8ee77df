"""The forecast the cycle reads for each series' champion: Prophet's, a baseline's from the
series' own window, or the blend of Prophet with one, and nothing for a blend without Prophet."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecaster.crossings.blend import blend
from forecaster.crossings.champion_forecasts import warning_forecasts
from forecaster.crossings.decision import DecisionRule
from forecaster.series import forecastable_series

END = pd.Timestamp("2026-04-10 10:00", tz="UTC")
SINCE = END - pd.Timedelta(days=14)
HOURS = pd.date_range(END, periods=24, freq="h", tz="UTC")
PROPHET = pd.DataFrame({"ds": HOURS, "yhat": 20.0, "yhat_lower": 16.0, "yhat_upper": 24.0})


def read(engine, sid: int, rule: DecisionRule, prophet: dict[int, pd.DataFrame]):
    with engine.connect() as conn:
        [key] = forecastable_series(conn, SINCE.to_pydatetime(), END.to_pydatetime(), min_points=24)
        assert key.series_id == sid
        return warning_forecasts(
            conn,
            {sid: key},
            {sid: rule},
            prophet,
            since=SINCE.to_pydatetime(),
            until=END.to_pydatetime(),
            horizon=24,
        )


def test_each_champion_reads_its_own_forecast_and_a_blend_needs_prophets(engine, write_hourly):
    hours = np.arange(14 * 24)
    sid = write_hourly("4202-QIANWAN", "lots_on_site", 10.0 + (hours % 24 == 5) * 30.0, END)
    naive = read(engine, sid, DecisionRule(method="seasonal_naive_24h"), {})[sid]
    assert len(naive) == 24 and sorted(set(naive["yhat"])) == [10.0, 40.0]
    assert naive["ds"].tolist() == HOURS.tolist()  # UTC instants, as Prophet's rows
    blended = read(engine, sid, DecisionRule("edge", method="blend_24h"), {sid: PROPHET})[sid]
    pd.testing.assert_frame_equal(blended, blend(PROPHET, naive, non_negative=True))
    assert sorted(set(blended["yhat"])) == [15.0, 30.0]
    assert read(engine, sid, DecisionRule(), {sid: PROPHET})[sid] is PROPHET
    # Prophet failed on the series: a blend publishes nothing (the naive alone would be another
    # candidate), a naive champion still publishes, Prophet's own rule has nothing to read.
    assert read(engine, sid, DecisionRule("edge", method="blend_24h"), {}) == {}
    assert read(engine, sid, DecisionRule(), {}) == {}


def test_the_weekly_mean_blend_reads_the_mean_of_the_same_hour_of_three_weeks(engine, write_hourly):
    hours = np.arange(21 * 24)
    weeks = hours // 168  # 0, 1, 2: the level rises by 6 a week
    sid = write_hourly("4202-QIANWAN", "lots_on_site", 10.0 + 6.0 * weeks, END)
    since = END - pd.Timedelta(days=21)
    with engine.connect() as conn:
        [key] = forecastable_series(conn, since.to_pydatetime(), END.to_pydatetime(), min_points=24)
        rule = DecisionRule("edge", method="blend_mean_3w")
        blended = warning_forecasts(
            conn, {sid: key}, {sid: rule}, {sid: PROPHET},
            since=since.to_pydatetime(), until=END.to_pydatetime(), horizon=24,
        )[sid]  # fmt: skip
    assert blended["yhat"].tolist() == [(20.0 + 16.0) / 2] * 24  # Prophet 20, the weeks' mean 16
