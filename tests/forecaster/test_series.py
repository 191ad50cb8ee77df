from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecaster.series import data_hash, forecastable_series, load_histories, local_frame, to_utc

END = pd.Timestamp("2026-04-10 10:00", tz="UTC")
SINCE = END - pd.Timedelta(days=28)
SITE = "4202-QIANWAN"


def test_only_forecastable_indicators_with_enough_history_are_selected(engine, write_hourly):
    held = write_hourly(SITE, "hazardous_lots_held", np.arange(100.0), END)
    write_hourly(SITE, "lots_on_site", np.arange(50.0), END)  # too short
    write_hourly(SITE, "teu_on_site", np.arange(100.0), END)  # not forecastable
    with engine.connect() as conn:
        keys = forecastable_series(conn, SINCE, END, min_points=72)
    assert [(k.series_id, k.node_id, k.indicator_code, k.points) for k in keys] == [
        (held, SITE, "hazardous_lots_held", 100)
    ]
    assert keys[0].level == "site" and keys[0].timezone == "Asia/Shanghai"


def test_node_and_indicator_filters_restrict_the_selection(engine, write_hourly):
    write_hourly(SITE, "hazardous_lots_held", np.ones(80), END)
    write_hourly(SITE, "lots_on_site", np.ones(80), END)
    write_hourly("2201-YANGSHAN", "lots_on_site", np.ones(80), END)
    with engine.connect() as conn:
        by_node = forecastable_series(conn, SINCE, END, min_points=72, nodes=[SITE])
        by_code = forecastable_series(conn, SINCE, END, min_points=72, indicators=["lots_on_site"])
    assert {k.indicator_code for k in by_node} == {"hazardous_lots_held", "lots_on_site"}
    assert {k.node_id for k in by_code} == {SITE, "2201-YANGSHAN"}


def test_histories_are_in_the_nodes_local_time_and_exclude_the_running_hour(engine, write_hourly):
    write_hourly(SITE, "lots_on_site", np.arange(80.0), END + pd.Timedelta(hours=1))
    with engine.connect() as conn:
        keys = forecastable_series(conn, SINCE, END, min_points=72)
        ((key, history),) = list(load_histories(conn, keys, SINCE, END))
    # The bucket at 09:00 UTC is 17:00 in Shanghai; the one at END (10:00 UTC) is not complete.
    assert history["ds"].iloc[-1] == pd.Timestamp("2026-04-10 17:00")
    assert history["ds"].dt.tz is None and len(history) == 79
    assert history["y"].iloc[-1] == 78.0
    assert to_utc(history["ds"].iloc[-1:], key.timezone).iloc[0] == END - pd.Timedelta(hours=1)


def test_a_late_value_for_a_past_hour_changes_the_data_hash():
    ds = pd.date_range("2026-04-01", periods=100, freq="h")
    first = pd.DataFrame({"ds": ds, "y": np.arange(100.0)})
    late = first.assign(y=first["y"].where(first.index != 50, 999.0))
    noise = first.assign(y=first["y"] + 1e-12)
    assert data_hash(first) == data_hash(noise)
    assert data_hash(first) != data_hash(late)
    assert data_hash(first, "cfg-a") != data_hash(first, "cfg-b")


@pytest.mark.parametrize("timezone", ["Asia/Shanghai", "Europe/London", "America/New_York"])
def test_local_times_and_back_agree_with_pandas_across_daylight_saving_changes(timezone):

    start = pd.Timestamp("2026-03-07", tz="UTC").value // 10**9
    epochs = (start + 3600 * np.arange(24 * 60)).astype(float)  # March to May
    expected = pd.DatetimeIndex(pd.to_datetime(epochs, unit="s", utc=True))
    expected_local = expected.tz_convert(timezone).tz_localize(None)
    for _ in range(2):  # the second reads the cache
        frame = local_frame(epochs, np.ones(len(epochs)), timezone)
        assert (frame["ds"].to_numpy() == expected_local.to_numpy()).all()
        back = to_utc(frame["ds"], timezone)
        aware = expected_local.tz_localize(timezone, ambiguous=True, nonexistent="shift_forward")
        assert (pd.DatetimeIndex(back) == aware.tz_convert("UTC")).all()


def test_a_cached_conversion_is_a_copy_so_one_caller_cannot_change_anothers_times():

    epochs = (1_800_000_000 // 3600 * 3600 + 3600 * np.arange(48)).astype(float)
    first = local_frame(epochs, np.ones(48), "Asia/Shanghai")
    first.loc[0, "ds"] = pd.Timestamp("2000-01-01")
    again = local_frame(epochs, np.ones(48), "Asia/Shanghai")
    assert again["ds"].iloc[0] != pd.Timestamp("2000-01-01")
