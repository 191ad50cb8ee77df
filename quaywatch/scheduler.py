"""APScheduler wiring: each package exposes plain step functions; only this module schedules them.

Steps guard themselves with advisory locks, so running the same schedule on several replicas is
safe. A failing step is logged and retried at its next interval; it never stops the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine

from quaywatch.db import Outage
from quaywatch.optional import import_optional
from quaywatch.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    target: str  # "module:function", called as function(engine, settings)
    interval: Callable[[Settings], float]
    role: str
    then: str | None = None  # a job to run right after this one succeeds
    # Seconds after start of the first run (default: one interval). Metrics and forecasts run
    # soon after start, so a fresh service shows current values and forecasts within a minute
    # or two instead of after the first 15-minute forecast interval.
    first_after_s: float | None = None


JOBS: tuple[Job, ...] = (
    # Rules are evaluated on their own schedule and also right after each metrics cycle, so a
    # breach is seen within seconds of being computed.
    Job(
        "metrics",
        "collector.jobs:metrics",
        lambda s: s.metrics_interval_s,
        "collector",
        then="evaluate",
        first_after_s=1,
    ),
    Job("rollup", "collector.jobs:rollup", lambda s: s.rollup_interval_s, "collector"),
    Job("retention", "collector.jobs:retention", lambda s: 6 * 3600, "collector"),
    Job("feeds", "collector.jobs:feeds", lambda s: s.feed_poll_interval_s, "collector"),
    Job(
        "declaration_feeds",
        "collector.risk.jobs:declaration_feeds",
        lambda s: s.feed_poll_interval_s,
        "collector",
    ),
    Job("forecast", "forecaster.jobs:forecast", lambda s: 900, "forecaster", first_after_s=15),
    # A backtest takes minutes of both cores: the first one an interval after start, not at it.
    Job(
        "select_champions",
        "forecaster.jobs:select_champions",
        lambda s: s.forecast_select_hours * 3600,
        "forecaster",
    ),
    Job("evaluate", "alerter.jobs:evaluate", lambda s: 30, "alerter"),
    Job("dispatch", "alerter.jobs:dispatch", lambda s: 2, "alerter"),
    Job("prune", "alerter.jobs:prune", lambda s: 3600, "alerter"),
)


def _resolve(target: str) -> Callable[[Engine, Settings], Any] | None:
    module_name, _, attr = target.partition(":")
    module = import_optional(module_name)
    if module is None:
        return None
    step: Callable[[Engine, Settings], Any] = getattr(module, attr)
    return step


def _guarded(
    job: Job,
    step: Callable[[Engine, Settings], Any],
    engine: Engine,
    settings: Settings,
    scheduler: BackgroundScheduler,
    outage: Outage,
) -> Callable[[], None]:
    def run() -> None:
        try:
            step(engine, settings)
        except Exception as error:
            if not outage.failed(f"step {job.name}", error):
                log.exception(
                    "scheduled step %s failed; it runs again at its next interval", job.name
                )
            return
        outage.ok()
        if job.then and scheduler.get_job(job.then):
            scheduler.modify_job(job.then, next_run_time=datetime.now(UTC))

    return run


def _first_run(job: Job) -> dict[str, Any]:
    if job.first_after_s is None:
        return {}
    return {"next_run_time": datetime.now(UTC) + timedelta(seconds=job.first_after_s)}


def build_scheduler(
    settings: Settings, engine: Engine, role: str = "all", outage: Outage | None = None
) -> BackgroundScheduler:
    outage = outage or Outage(log)
    scheduler = BackgroundScheduler(
        timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1}
    )
    for job in JOBS:
        if role not in ("all", job.role):
            continue
        step = _resolve(job.target)
        if step is None or job.interval(settings) <= 0:
            continue  # not installed, or turned off by its setting (an interval of 0)
        scheduler.add_job(
            _guarded(job, step, engine, settings, scheduler, outage),
            "interval",
            seconds=job.interval(settings),
            id=job.name,
            name=job.name,
            **_first_run(job),
        )
    return scheduler
