"""The live simulator against the real API and database: events and declarations, screened."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import text
from waitress.server import create_server

from collector.risk.simulation.simulator import RiskSimConfig
from collector.sim_runs import LiveDeclarations, LiveSimulator
from collector.simulator import SimConfig
from pgtest import free_port
from quaywatch.security.auth import issue_token
from quaywatch.web import create_app
from tests.waiting import wait_for


@pytest.fixture
def api_url(settings, engine) -> Iterator[str]:
    port = free_port()
    server = create_server(create_app(settings, engine), host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.close()
    thread.join(5)


def _count(engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar() or 0)


def test_the_live_simulator_sends_declarations_that_are_stored_and_screened(api_url, engine, auth):
    with engine.begin() as conn:
        token = issue_token(conn, "live simulator", "station", "CN").token
    simulator = LiveSimulator(
        api_url,
        token,
        SimConfig(scale=0.01),
        None,
        history_days=1,
        tick_s=0.2,
        declarations_per_hour=36_000,
    )
    # An hour of backlog: at scale 0.01 (~30 cargo events an hour nationally) five minutes
    # often held none.
    thread = threading.Thread(
        target=simulator.run, args=(datetime.now(UTC) - timedelta(minutes=60),), daemon=True
    )
    thread.start()
    try:
        # Both kinds, whichever is stored first.
        wait_for(
            lambda: (
                _count(engine, "SELECT count(*) FROM declaration") >= 20
                and _count(engine, "SELECT count(*) FROM cargo_event") > 0
            ),
            60,
            "declarations and cargo events",
        )
    finally:
        simulator.stop()
        thread.join(10)
    assert simulator.failures == 0
    assert _count(engine, "SELECT count(*) FROM cargo_event") > 0
    assert _count(engine, "SELECT count(*) FROM declaration WHERE risk_score IS NOT NULL") > 0
    queue = requests.get(f"{api_url}/api/v1/risk/queue", headers=auth, timeout=10)
    assert queue.status_code == 200
    assert queue.json()["items"]


def test_live_declarations_keep_their_rate_and_never_reuse_an_id():
    started = datetime(2026, 6, 1, tzinfo=UTC)
    traffic = LiveDeclarations(RiskSimConfig(), 3600, started)
    ticks = [started + timedelta(seconds=s) for s in range(0, 61, 2)]
    sent = [d for a, b in zip(ticks, ticks[1:], strict=False) for d in traffic.between(a, b)]
    originals = [d for d in sent if d["amendment_no"] == 0]
    assert len(originals) == 60
    assert all(d["declaration_id"].startswith("LIVE20260601000000-") for d in sent)
    assert len({d["declaration_id"] for d in originals}) == len(originals)
