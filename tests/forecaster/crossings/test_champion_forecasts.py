"""The forecast the cycle reads for each series' champion: Prophet's, a baseline's from the
series' own window, or the blend of Prophet with one, and nothing for a blend without Prophet."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecaster.crossings.blend import blend
from forecaster.crossings.champion_forecasts import warning_forecasts
from forecaster.crossings.decision import DecisionRule
from forecaster.series import forecastable_series, load_histories

END = pd.Timestamp("2026-04-10 10:00", tz="UTC")
SINCE = END - pd.Timedelta(days=14)
HOURS = pd.date_range(END, periods=24, freq="h", tz="UTC")
PROPHET = pd.DataFrame({"ds": HOURS, "yhat": 20.0, "yhat_lower": 16.0, "yhat_upper": 24.0})


def windows_since(engine, since: pd.Timestamp):
    """The keys and windows of the stored series, as the cycle loads them."""
    span = since.to_pydatetime(), END.to_pydatetime()
    with engine.connect() as conn:
        keys = forecastable_series(conn, *span, min_points=24)
        return {k.series_id: k for k in keys}, dict(
            (k.series_id, h) for k, h in load_histories(conn, keys, *span)
        )


def read(engine, sid: int, rule: DecisionRule, prophet: dict[int, pd.DataFrame]):
    keys, windows = windows_since(engine, SINCE)
    assert list(keys) == [sid]
    forecasts, gates = warning_forecasts(keys, {sid: rule}, prophet, windows, horizon=24)
    assert not gates  # only an agreement has a gate
    return forecasts


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


def test_a_baseline_champion_without_its_window_publishes_nothing(engine, write_hourly):
    sid = write_hourly("4202-QIANWAN", "lots_on_site", np.full(14 * 24, 10.0), END)
    keys, _ = windows_since(engine, SINCE)
    rule = DecisionRule(method="seasonal_naive_24h")
    assert warning_forecasts(keys, {sid: rule}, {sid: PROPHET}, {}, horizon=24) == ({}, {})


def test_an_agreement_reads_prophets_forecast_gated_by_its_naive_and_needs_prophets(
    engine, write_hourly
):
    hours = np.arange(14 * 24)
    sid = write_hourly("4202-QIANWAN", "lots_on_site", 10.0 + (hours % 24 == 5) * 30.0, END)
    keys, windows = windows_since(engine, SINCE)
    rule = DecisionRule("edge", method="agreement_24h")
    forecasts, gates = warning_forecasts(keys, {sid: rule}, {sid: PROPHET}, windows, horizon=24)
    assert forecasts[sid] is PROPHET
    naive = read(engine, sid, DecisionRule(method="seasonal_naive_24h"), {})[sid]
    pd.testing.assert_frame_equal(gates[sid], naive)
    # Prophet failed: the naive alone is another candidate, so nothing is published.
    assert warning_forecasts(keys, {sid: rule}, {}, windows, horizon=24) == ({}, {})


def test_the_weekly_mean_blend_reads_the_mean_of_the_same_hour_of_three_weeks(engine, write_hourly):
    hours = np.arange(21 * 24)
    weeks = hours // 168  # 0, 1, 2: the level rises by 6 a week
    sid = write_hourly("4202-QIANWAN", "lots_on_site", 10.0 + 6.0 * weeks, END)
    keys, windows = windows_since(engine, END - pd.Timedelta(days=21))
    rule = DecisionRule("edge", method="blend_mean_3w")
    blended = warning_forecasts(keys, {sid: rule}, {sid: PROPHET}, windows, horizon=24)[0][sid]
    assert blended["yhat"].tolist() == [(20.0 + 16.0) / 2] * 24  # Prophet 20, the weeks' mean 16
