"""The forecaster's scheduled step: ``quaywatch/scheduler.py`` runs ``forecast`` every 900 s."""

from __future__ import annotations

from sqlalchemy import Engine

from forecaster.cycle import CycleSummary, run_cycle
from quaywatch.settings import Settings


def forecast(engine: Engine, settings: Settings) -> CycleSummary:
    """One forecast cycle over every forecastable series and held hazardous lot."""
    return run_cycle(engine, settings)
