"""`quaywatch run`: the HTTP API (waitress), the scheduler, and optionally the live simulator,
in one process until SIGINT/SIGTERM, with a status line every few seconds.

The process outlives its database: an outage is logged once (quaywatch.db.Outage), the API
answers 503 meanwhile, and everything resumes when the database is back. A stop takes under
two seconds in any phase: a step still running after a short grace is left to the database to
roll back (every step is one transaction and simply runs again), and every process this one
started (the forecaster's worker pool, its fork server) is ended with it."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from waitress.server import create_server

from quaywatch.db import Outage
from quaywatch.log import setup_logging
from quaywatch.scheduler import build_scheduler
from quaywatch.settings import Settings
from quaywatch.web import create_app

log = logging.getLogger("quaywatch")
STATUS_EVERY_S = 10.0
STOP_GRACE_S = 1.0  # how long a running step may take to finish once a stop is asked for


def _status(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(
            text("""
            SELECT (SELECT count(*) FROM cargo_event WHERE received_at > now() - interval '10 seconds'),
                   (SELECT count(*) FROM lot WHERE removed_at IS NULL),
                   (SELECT detail->>'points' FROM job_state WHERE name = 'metrics_cycle'),
                   (SELECT watermark FROM job_state WHERE name = 'metrics_cycle')""")
        ).one()
    return {
        "events_per_s": row[0] / STATUS_EVERY_S,
        "lots": row[1],
        "points": row[2],
        "cycle": row[3],
    }


def _simulator(settings: Settings, engine: Engine, speed: float) -> Any:
    from collector.sim_runs import LiveSimulator, remembered_config
    from collector.simulator import SimConfig
    from quaywatch.security.auth import issue_token

    cfg, anchor = remembered_config(engine, SimConfig(scale=settings.sim_scale, speed=speed))
    with engine.begin() as conn:
        token = issue_token(conn, "live simulator", "station", "CN").token
        latest = conn.execute(text("SELECT max(occurred_at) FROM cargo_event")).scalar()
    url = f"http://{settings.api_host}:{settings.api_port}"
    simulator = LiveSimulator(url, token, cfg, anchor)
    thread = threading.Thread(
        target=simulator.run,
        args=(latest or datetime.now(UTC),),
        name="live-simulator",
        daemon=True,
    )
    return simulator, thread


def run_service(
    settings: Settings,
    engine: Engine,
    role: str = "all",
    simulate: bool = False,
    speed: float = 1.0,
) -> None:
    setup_logging(settings.log_level, settings.log_format)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    outage = Outage(log)
    server = None
    if role in ("all", "api"):
        server = create_server(
            create_app(settings, engine, outage),
            host=settings.api_host,
            port=settings.api_port,
            threads=8,
        )
        threading.Thread(target=server.run, name="http", daemon=True).start()
        log.info(
            "API listening on http://%s:%s/api/v1 (health: /healthz, metrics: /metrics)",
            settings.api_host,
            settings.api_port,
        )
    scheduler = build_scheduler(settings, engine, role, outage)
    scheduler.start()
    log.info("scheduler running: %s", ", ".join(job.id for job in scheduler.get_jobs()))
    simulator = None
    if simulate:
        simulator, thread = _simulator(settings, engine, speed)
        thread.start()
        log.info("live simulator feeding the API (speed x%g)", speed)
    try:
        while not stop.wait(STATUS_EVERY_S):
            _log_status(engine, outage)
    finally:
        log.info("stopping")
        if simulator:
            simulator.stop()
        if server:
            server.close()
        _stop_scheduler(scheduler)
        engine.dispose()
        _end_children()


def _log_status(engine: Engine, outage: Outage) -> None:
    try:
        status = _status(engine)
    except Exception as error:
        if not outage.failed("the status line", error):
            log.exception("status line failed")
        return
    outage.ok()
    log.info(
        "events/s %.1f | lots on site %s | metrics points last cycle %s (%s)",
        status["events_per_s"],
        f"{status['lots']:,}",
        status["points"] or "-",
        f"{status['cycle']:%H:%M}" if status["cycle"] else "pending",
    )


def _stop_scheduler(scheduler: Any, grace_s: float = STOP_GRACE_S) -> None:
    """Let running steps finish for a moment, then leave without them: every step is one
    transaction, so one cut short is rolled back by the database and simply runs again."""
    stopper = threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, daemon=True)
    stopper.start()
    stopper.join(grace_s)
    if stopper.is_alive():
        log.info("a scheduled step was still running; it is rolled back and runs at next start")
        _end_children()
        logging.shutdown()
        os._exit(0)


def _end_children(grace_s: float = 0.5) -> None:
    """End every process this one started, and theirs (a process pool's workers, the fork
    server, the resource tracker), so a stop leaves nothing behind."""
    children = _descendants(os.getpid())
    for pid in children:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while children and time.monotonic() < deadline:
        children = [pid for pid in children if _alive(pid)]
        time.sleep(0.02)
    for pid in children:
        _signal(pid, signal.SIGKILL)


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in task.read_text().split()]
        except OSError:
            continue
    return found + [grandchild for child in found for grandchild in _descendants(child)]


def _alive(pid: int) -> bool:
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # not our child: ask the kernel whether it still exists
        return Path(f"/proc/{pid}").exists()
    return reaped == 0


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
