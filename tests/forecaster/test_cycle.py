from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

import forecaster.prophet.batch
from forecaster.cycle import CycleOptions, run_cycle
from tests.forecaster.helpers import add_forecast_rule

END = pd.Timestamp("2026-04-10 10:00", tz="UTC")
NOW = END + pd.Timedelta(minutes=20)
QIANWAN, YANGSHAN = "4202-QIANWAN", "2201-YANGSHAN"
OPTIONS = CycleOptions(workers=1)
MARKER = 4242.0  # a value that makes the patched fit raise


def daily(n: int, amplitude: float, seed: int = 0) -> np.ndarray:
    t = np.arange(n)
    noise = np.random.default_rng(seed).normal(0, 0.3, n)
    return amplitude * np.sin(2 * np.pi * t / 24) + noise


@pytest.fixture
def fit_fails_on_marker(monkeypatch):
    real_fit = forecaster.prophet.batch.fit

    def fit(history, cfg=None, warm_start=None):
        if (history["y"] == MARKER).any():
            raise RuntimeError("optimizer blew up")
        return real_fit(history, cfg, warm_start)

    monkeypatch.setattr(forecaster.prophet.batch, "fit", fit)


@pytest.fixture
def four_series(write_hourly, fit_fails_on_marker):
    n = 14 * 24
    rising = write_hourly(
        QIANWAN, "hazardous_lots_held", 2 + 0.1 * np.arange(n) + daily(n, 1.5), END
    )
    falling = write_hourly(YANGSHAN, "lots_on_site", np.linspace(20, 0.5, n) + daily(n, 3, 1), END)
    broken = write_hourly(QIANWAN, "lots_on_site", np.r_[np.ones(n - 1), MARKER], END)
    sparse = np.r_[np.full(20, np.nan), np.ones(60)]
    skipped = write_hourly(QIANWAN, "removals_per_hour", sparse, END)
    return {"rising": rising, "falling": falling, "broken": broken, "skipped": skipped}


def rows(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def test_a_failing_series_is_recorded_and_the_cycle_goes_on(engine, settings, four_series):
    summary = run_cycle(engine, settings, NOW.to_pydatetime(), options=OPTIONS)
    assert (summary.series_total, summary.series_ok) == (4, 2)
    assert (summary.series_failed, summary.series_skipped) == (1, 1)
    failures = dict(
        (sid, (outcome, reason))
        for sid, outcome, reason in rows(
            engine,
            "SELECT series_id, outcome, reason FROM forecast_failure WHERE run_id = :r",
            r=summary.run_id,
        )
    )
    assert failures[four_series["broken"]] == ("failed", "RuntimeError: optimizer blew up")
    assert failures[four_series["skipped"]][0] == "skipped"
    (run,) = rows(engine, "SELECT series_ok, series_failed, finished_at FROM forecast_run")
    assert run[0] == 2 and run[1] == 1 and run[2] is not None
    counts = dict(rows(engine, "SELECT series_id, count(*) FROM forecast GROUP BY 1"))
    assert counts == {four_series["rising"]: 48, four_series["falling"]: 48}


def test_count_forecasts_are_never_negative(engine, settings, four_series):
    run_cycle(engine, settings, NOW.to_pydatetime(), options=OPTIONS)
    ((low, first, last),) = rows(
        engine,
        "SELECT min(yhat_lower), min(ds), max(ds) FROM forecast_latest WHERE series_id = :s",
        s=four_series["falling"],
    )
    assert low == 0.0  # the declining series would go below zero unclipped
    assert first == END.to_pydatetime() and last == (END + pd.Timedelta(hours=47)).to_pydatetime()


def test_a_rising_series_gets_a_crossing_with_lead_time_and_probability(
    engine, settings, four_series
):
    add_forecast_rule(engine, "hazardous_lots_held", 38.0)
    summary = run_cycle(engine, settings, NOW.to_pydatetime(), options=OPTIONS)
    ((threshold, direction, at, lead, p, rule),) = rows(
        engine,
        "SELECT threshold, direction, crossing_at, lead_hours, probability, rule"
        " FROM forecast_crossing WHERE series_id = :s AND run_id = :r",
        s=four_series["rising"],
        r=summary.run_id,
    )
    assert (threshold, direction, rule) == (38.0, "above", "yhat")
    assert NOW < pd.Timestamp(at) <= NOW + pd.Timedelta(hours=48)
    assert lead == pytest.approx((pd.Timestamp(at) - NOW) / pd.Timedelta(hours=1))
    assert 0.5 <= p <= 1.0
    assert summary.crossings == 1  # rules at site level only: the Yangshan series has none


def test_an_unchanged_window_is_not_refitted_but_its_crossings_are_renewed(
    engine, settings, four_series
):
    add_forecast_rule(engine, "hazardous_lots_held", 38.0)
    first = run_cycle(engine, settings, NOW.to_pydatetime(), options=OPTIONS)
    later = NOW + pd.Timedelta(minutes=15)
    second = run_cycle(engine, settings, later.to_pydatetime(), options=OPTIONS)
    assert (second.series_ok, second.series_reused, second.series_failed) == (0, 2, 1)
    assert second.crossings == 1
    (model_run,) = rows(
        engine, "SELECT run_id FROM forecast_model WHERE series_id = :s", s=four_series["rising"]
    )
    assert model_run[0] == first.run_id  # the latest forecast is still the first run's
    crossing_runs = rows(engine, "SELECT DISTINCT run_id FROM forecast_crossing ORDER BY 1")
    assert [r[0] for r in crossing_runs] == [first.run_id, second.run_id]


def test_a_changed_window_is_forecast_from_its_stored_fit_until_its_refit_hour(
    engine, settings, write_hourly
):
    n = 14 * 24
    sids = [
        write_hourly(site, "lots_on_site", 10 + daily(n, 2, seed), END)
        for seed, site in enumerate((QIANWAN, YANGSHAN, "2301-LONGTAN"))
    ]
    first = run_cycle(engine, settings, NOW.to_pydatetime(), options=OPTIONS)
    for sid, site in zip(sids, (QIANWAN, YANGSHAN, "2301-LONGTAN"), strict=True):
        assert write_hourly(site, "lots_on_site", [14.0], END + pd.Timedelta(hours=1)) == sid
    later = (NOW + pd.Timedelta(hours=1)).to_pydatetime()
    second = run_cycle(engine, settings, later, options=OPTIONS)
    # The newest hour is END; a series refits in the hour of its turn (series_id % 6).
    turn = int(END.timestamp() // 3600) % 6
    refitted = {sid for sid in sids if sid % 6 == turn}
    assert (second.series_ok, second.series_refreshed) == (3, 3 - len(refitted))
    models = rows(engine, "SELECT series_id, run_id, fitted_at FROM forecast_model")
    for sid, run_id, fitted_at in models:
        assert run_id == second.run_id  # every latest forecast is the second run's
        fit_run = later if sid in refitted else NOW.to_pydatetime()
        assert fitted_at == fit_run  # a refreshed series keeps its fit
    starts = rows(
        engine, "SELECT min(ds) FROM forecast WHERE run_id = :r GROUP BY series_id", r=second.run_id
    )
    assert [s[0] for s in starts] == [END + pd.Timedelta(hours=1)] * 3
    assert first.series_refreshed == 0


def test_with_refits_every_time_every_changed_window_is_fitted(engine, settings, write_hourly):
    n = 14 * 24
    write_hourly(QIANWAN, "lots_on_site", 10 + daily(n, 2), END)
    every_time = CycleOptions(workers=1, refit_hours=0)
    run_cycle(engine, settings, NOW.to_pydatetime(), options=every_time)
    write_hourly(QIANWAN, "lots_on_site", [14.0], END + pd.Timedelta(hours=1))
    later = (NOW + pd.Timedelta(hours=1)).to_pydatetime()
    second = run_cycle(engine, settings, later, options=every_time)
    assert (second.series_ok, second.series_refreshed) == (1, 0)
    (run,) = rows(
        engine, "SELECT series_refreshed FROM forecast_run WHERE run_id = :r", r=second.run_id
    )
    assert run[0] == 0


def test_every_held_hazardous_lot_gets_a_breach_prediction(engine, settings, write_lot):
    rng = np.random.default_rng(3)
    for i, dwell in enumerate(rng.uniform(20, 160, 40).round(2)):
        arrived = NOW - pd.Timedelta(days=20) + pd.Timedelta(hours=3 * i)
        write_lot(
            f"done-{i}", QIANWAN, "3", arrived, removed_at=arrived + pd.Timedelta(hours=dwell)
        )
    for lot_id, age in (("fresh", 2), ("near", 95), ("overdue", 130)):
        write_lot(lot_id, QIANWAN, "3", NOW - pd.Timedelta(hours=age))
    write_lot("general", QIANWAN, None, NOW - pd.Timedelta(hours=5))
    summary = run_cycle(engine, settings, NOW.to_pydatetime(), options=OPTIONS)
    assert summary.lots_scored == 3 and not summary.errors
    found = {
        lot: (p, breach)
        for lot, p, breach in rows(
            engine,
            "SELECT lot_id, breach_probability, predicted_breach_at FROM lot_breach_prediction",
        )
    }
    assert set(found) == {"fresh", "near", "overdue"}
    assert found["overdue"][0] == 1.0 and found["overdue"][1] is not None
    assert found["fresh"][0] < found["near"][0]
