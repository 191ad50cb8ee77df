"""`quaywatch run --simulate` as a real process: API up, live events stored, metrics written,
and a clean stop on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import requests
from sqlalchemy import text

from pgtest import free_port


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_service_serves_simulates_computes_and_stops_cleanly(db_url, engine):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "QUAYWATCH_API_PORT": str(port),
        "QUAYWATCH_METRICS_INTERVAL_S": "2",
        "QUAYWATCH_SIM_SCALE": "3",
    }
    process = subprocess.Popen(
        [sys.executable, "-c", "from quaywatch.cli import main; main()", "run", "--simulate"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:

        def healthy() -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok
            except requests.ConnectionError:
                return False

        try:
            wait_for(healthy, 60, "the API")
        except AssertionError:
            process.kill()
            raise AssertionError(process.communicate()[0]) from None

        def count(sql: str) -> int:
            with engine.connect() as conn:
                return int(conn.execute(text(sql)).scalar() or 0)

        wait_for(lambda: count("SELECT count(*) FROM cargo_event") > 0, 60, "live events")
        wait_for(lambda: count("SELECT count(*) FROM series_latest") > 1000, 60, "a metrics cycle")
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert f"API listening on http://127.0.0.1:{port}/api/v1" in output
    assert "stopping" in output
    assert "Traceback" not in output
