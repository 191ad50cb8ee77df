"""The forecast the cycle reads for each series' champion: Prophet's, the seasonal naive's from
the series' own window, or their blend, and nothing for a blend without Prophet."""

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
