"""The scheduled champion selection: a backtest of recent history that stores each
indicator's champion for the next cycle, one replica at a time, and off when set to 0."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import text

from forecaster.jobs import SELECT_LOCK, select_champions
from quaywatch.db import try_advisory_lock
from quaywatch.scheduler import build_scheduler

SITE = "4202-QIANWAN"
END = pd.Timestamp("2026-04-10 00:00", tz="UTC")


def daily_peaks() -> np.ndarray:
    hours = np.arange(12 * 24)
    noise = np.random.default_rng(5).normal(0, 1.5, len(hours))
    return 20 + 10 * np.sin(2 * np.pi * hours / 24) + noise


def select(engine, settings):
    return select_champions(engine, settings, days=2, window_days=7, step_hours=12, sites=(SITE,))


def test_a_selection_stores_the_backtest_and_the_indicators_champion(
    engine, settings, write_hourly
):
    write_hourly(SITE, "lots_on_site", daily_peaks(), END)
    summary = select(engine, settings)
    assert summary is not None and "decision rules applied for 1 indicator(s)" in summary
    with engine.connect() as conn:
        params = conn.execute(text("SELECT params FROM backtest_run")).scalar_one()
        decision = conn.execute(
            text("SELECT indicator_code, backtest_id, reason FROM forecast_decision")
        ).one()
    assert params["scheduled"] is True and params["apply_rules"] is True
    assert decision.indicator_code == "lots_on_site" and decision.backtest_id is not None
    assert decision.reason  # why it won, as `quaywatch backtest --apply` records it


def test_a_selection_another_replica_is_running_is_skipped(engine, settings, write_hourly):
    write_hourly(SITE, "lots_on_site", daily_peaks(), END)
    with engine.connect() as other, other.begin():
        assert try_advisory_lock(other, SELECT_LOCK)
        assert select(engine, settings) is None
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM forecast_decision")).scalar() == 0


def test_the_scheduler_selects_an_interval_after_start_and_not_at_all_when_set_to_0(
    engine, settings
):
    scheduler = build_scheduler(settings, engine, "forecaster")
    scheduler.start(paused=True)
    try:
        job = scheduler.get_job("select_champions")
        assert job is not None
        assert job.next_run_time > datetime.now(UTC) + timedelta(hours=23)
    finally:
        scheduler.shutdown(wait=False)
    off = build_scheduler(dataclasses.replace(settings, forecast_select_hours=0), engine)
    assert off.get_job("select_champions") is None and off.get_job("forecast") is not None
