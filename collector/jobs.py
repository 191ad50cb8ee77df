"""The collector's scheduled steps, in the (engine, settings) shape quaywatch.scheduler calls."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine

from collector.intake.cargo_events import poll_due
from collector.intake.feeds import log_failures
from collector.rollup import RetentionPolicy, apply_retention, metrics_cycle, rollup_hourly
from quaywatch.settings import Settings

log = logging.getLogger(__name__)


def metrics(engine: Engine, settings: Settings) -> Any:
    return metrics_cycle(engine)


def rollup(engine: Engine, settings: Settings) -> Any:
    return rollup_hourly(engine)


def retention(engine: Engine, settings: Settings) -> Any:
    policy = RetentionPolicy(
        settings.retention_points_days,
        settings.retention_hourly_days,
        settings.retention_events_days,
    )
    dropped = apply_retention(engine, policy)
    if any(dropped.values()):
        log.info("retention dropped %s", dropped)
    return dropped


def feeds(engine: Engine, settings: Settings) -> Any:
    return log_failures(log, "feed", poll_due(engine, settings))
