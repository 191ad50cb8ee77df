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
from tests.waiting import wait_for


def start_service(db_url: str, *args: str, **env: str) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": db_url,
        "QUAYWATCH_API_PORT": str(port),
        "QUAYWATCH_METRICS_INTERVAL_S": "2",
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-c", "from quaywatch.cli import main; main()", "run", *args],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

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
    return process, port


def test_the_service_serves_simulates_computes_and_stops_cleanly(db_url, engine):
    process, port = start_service(db_url, "--simulate", QUAYWATCH_SIM_SCALE="3")
    try:

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


def stop_within(process: subprocess.Popen[str], seconds: float) -> tuple[float, str]:
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    return time.monotonic() - started, output


def descendants(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as handle:
            found += [int(child) for child in handle.read().split()]
    return found


def event(n: int) -> dict[str, object]:
    from datetime import UTC, datetime, timedelta

    return {
        "event_id": f"outage-{n}",
        "kind": "arrived",
        "lot_id": f"outage-lot-{n}",
        "site_id": "5304-SHEKOU",
        "occurred_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
    }


def test_the_service_outlives_a_database_crash_and_accepts_events_after_it(
    db_url, engine, pg_server
):
    from conftest import make_token

    if pg_server.dir is None:
        raise AssertionError("this test needs the private test cluster (unset DATABASE_URL)")
    auth = {"Authorization": f"Bearer {make_token(engine, 'station', '5300')}"}
    engine.dispose()
    process, port = start_service(db_url)
    api = f"http://127.0.0.1:{port}"
    try:
        assert (
            requests.post(f"{api}/api/v1/events", json=[event(0)], headers=auth).status_code == 202
        )
        pg_server.crash()
        try:
            time.sleep(3)
            assert requests.get(f"{api}/readyz", timeout=5).status_code == 503
            down = requests.post(f"{api}/api/v1/events", json=[event(1)], headers=auth, timeout=5)
            assert down.status_code == 503 and down.headers["Retry-After"]
            time.sleep(27)  # 30 s in all: three status lines and ~15 metrics steps into the outage
            assert process.poll() is None, "the service died with its database"
        finally:
            pg_server.start()

        def accepted() -> bool:
            answer = requests.post(f"{api}/api/v1/events", json=[event(2)], headers=auth, timeout=5)
            return answer.status_code == 202

        wait_for(accepted, 30, "the same process to accept events again")
        wait_for(lambda: requests.get(f"{api}/readyz", timeout=5).ok, 10, "ready again")
        seconds, output = stop_within(process, 2)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert output.count("database unavailable") == 1, output
    assert "database available again" in output
    assert "Traceback" not in output
    assert seconds < 2.5, seconds


def test_a_stop_inside_a_metrics_step_takes_under_two_seconds_and_leaves_no_process(db_url, engine):
    import psycopg

    plain = db_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(plain) as blocker:
        # Hold the table the metrics step writes: the step then waits inside its transaction.
        blocker.execute("LOCK TABLE series_latest IN ACCESS EXCLUSIVE MODE")
        process, _ = start_service(db_url)
        try:
            with psycopg.connect(plain, autocommit=True) as watcher:

                def step_waiting() -> bool:
                    row = watcher.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND datname = current_database()"
                    ).fetchone()
                    return bool(row and row[0])

                wait_for(step_waiting, 30, "a metrics step blocked inside its transaction")
            children = descendants(process.pid)
            seconds, output = stop_within(process, 2)
        finally:
            if process.poll() is None:
                process.kill()
        blocker.rollback()
    assert process.returncode == 0, output
    assert seconds < 2.0, (seconds, output)
    assert not [pid for pid in children if os.path.exists(f"/proc/{pid}")]


POOL_SCRIPT = """
import multiprocessing, sys, time
from concurrent.futures import ProcessPoolExecutor
from quaywatch.service import _end_children

pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("forkserver"))
futures = [pool.submit(time.sleep, 60) for _ in range(2)]
time.sleep(2)
print("ready", flush=True)
sys.stdin.readline()
_end_children()
print("ended", flush=True)
import os
os._exit(0)
"""


def test_ending_the_service_ends_a_forecast_pool_its_workers_and_the_fork_server():
    process = subprocess.Popen(
        [sys.executable, "-c", POOL_SCRIPT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout and process.stdin
        assert process.stdout.readline().strip() == "ready"
        tree = descendants(process.pid)
        tree += [grandchild for child in tree for grandchild in descendants(child)]
        assert len(tree) >= 3  # the fork server, its two workers (and the resource tracker)
        process.stdin.write("\n")
        process.stdin.flush()
        assert process.stdout.readline().strip() == "ended"
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    time.sleep(0.2)
    alive = []
    for pid in tree:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                if handle.read().split()[2] != "Z":
                    alive.append(pid)
        except FileNotFoundError:
            pass
    assert not alive
