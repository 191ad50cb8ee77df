"""The forecaster's scheduled steps: ``quaywatch/scheduler.py`` runs ``forecast`` every 900 s
and ``select_champions`` every ``QUAYWATCH_FORECAST_SELECT_HOURS``."""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from forecaster.cycle import CycleSummary, default_workers, run_cycle
from quaywatch.db import try_advisory_lock
from quaywatch.settings import Settings

log = logging.getLogger(__name__)
SELECT_LOCK = "forecaster.select_champions"


def forecast(engine: Engine, settings: Settings) -> CycleSummary:
    """One forecast cycle over every forecastable series and held hazardous lot."""
    return run_cycle(engine, settings)


def select_champions(
    engine: Engine,
    settings: Settings,
    *,
    days: int = 7,
    window_days: int = 28,
    step_hours: int = 6,
    sites: tuple[str, ...] = (),
) -> str | None:
    """Re-choose every indicator's warning champion from its recent history, as
    ``quaywatch backtest --apply --no-deadlines`` does with its defaults (the busiest sites and
    the national node, ``days`` of origins): the scores are stored in ``backtest_result`` and
    each champion in ``forecast_decision``, where the next cycle reads it. Returns the stored
    backtest's summary line; None when another replica holds the step's lock."""
    # Imported here: the backtest pulls in Prophet, which a process that never selects (the
    # API role) should not load.
    from forecaster.backtest.report import run_backtest

    options = {
        "days": days,
        "window_days": window_days,
        "step_hours": step_hours,
        "workers": default_workers(),
        "sites": sites,
        "deadlines": False,
        "apply_rules": True,
        "budget": 1.0,
        "store": True,
        "scheduled": True,
    }
    with engine.connect() as lock_conn, lock_conn.begin():
        if not try_advisory_lock(lock_conn, SELECT_LOCK):
            log.info("champion selection skipped: another replica holds %s", SELECT_LOCK)
            return None
        blocks = list(run_backtest(engine, options))
    summary = blocks[-1] if blocks else "no series to score"
    log.info("warning champions re-selected: %s", summary)
    return summary
