"""Declaration risk screening: live latency over HTTP, and re-screening a million declarations.

A million simulated declarations (30 days, one world of traders) are stored through the ingest
path, holding back the newest 15,000 (RATE x SECONDS).

(a) Those are POSTed to /api/v1/declarations at 500 a second for 30 s, into the million-row
database (batches of 50 every 0.1 s, open loop: a slow answer does not slow the sender).
Latency runs from the POST to the moment another connection sees the flags the 202 announced.
Precision and recall per kind are computed on that stream.

(b) Everything is then re-screened with 2 workers (`quaywatch declarations rescreen --since`),
alternately with a plain read of the same rows (COPY of SELECT * to the client), so machine
noise hits both.

Sizes can be reduced for a quick look: QW_BENCH_RISK_SECONDS, QW_BENCH_RISK_ROWS.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import requests
from sqlalchemy import Engine
from waitress.server import create_server

from bench.common import bench_server, median, sa_url, seeded_database, template_database, timed
from collector.risk.features import Thresholds
from collector.risk.rescreen import rescreen
from collector.risk.simulation.evaluation import evaluate
from collector.risk.simulation.simulator import RiskSimConfig, SimDeclaration, SimRun, stream
from collector.risk.store import save_declarations
from pgtest import PgServer
from quaywatch.db import raw_connection
from quaywatch.security.auth import issue_token
from quaywatch.settings import Settings
from quaywatch.web import create_app

RATE = 500
BATCH = 50
SECONDS = int(os.environ.get("QW_BENCH_RISK_SECONDS", "30"))
ROWS = int(os.environ.get("QW_BENCH_RISK_ROWS", "1000000"))


def store(engine: Engine, items: list[SimDeclaration], batch: int = 20_000) -> None:
    for start in range(0, len(items), batch):
        with raw_connection(engine) as conn:
            save_declarations(
                conn, [d.as_row("bench", d.arrival) for d in items[start : start + batch]]
            )


def _pct(values: list[float], q: float) -> float:
    return round(sorted(values)[min(len(values) - 1, int(q * len(values)))], 3)


class _Sender:
    """Posts batches at their scheduled times from a pool; records POST-to-visible latency."""

    def __init__(self, url: str, token: str, dsn: str) -> None:
        self.url, self.dsn = url, dsn
        self.headers = {"Authorization": f"Bearer {token}"}
        self.local = threading.local()
        self.latency: list[float] = []
        self.lag: list[float] = []

    def _conn(self) -> psycopg.Connection[Any]:
        if not hasattr(self.local, "conn"):
            self.local.conn = psycopg.connect(self.dsn, autocommit=True)
            self.local.session = requests.Session()
        conn: psycopg.Connection[Any] = self.local.conn
        return conn

    def send(self, due: float, batch: list[dict[str, Any]]) -> None:
        conn = self._conn()
        time.sleep(max(0.0, due - time.perf_counter()))
        posted = time.perf_counter()
        response = self.local.session.post(self.url, json=batch, headers=self.headers, timeout=60)
        assert response.status_code == 202, response.text
        flagged = [f["declaration_id"] for f in response.json()["flagged"]]
        seen = conn.execute(
            "SELECT count(DISTINCT declaration_id) FROM risk_flag WHERE declaration_id = ANY (%s)",
            (flagged,),
        ).fetchone()
        assert seen is not None and seen[0] == len(flagged)
        self.latency.append(time.perf_counter() - posted)
        self.lag.append(posted - due)


def _load(engine: Engine) -> tuple[int, float, datetime, SimRun]:
    """Store ROWS declarations directly; hold back the newest chunk for the live stream."""
    live = RATE * SECONDS
    cfg = RiskSimConfig(declarations=ROWS + live, span=timedelta(days=30), anomaly_rate=0.01)
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    count, started = 0, time.perf_counter()
    held: SimRun | None = None
    for part in stream(cfg, end, chunk=live):
        if held is not None:
            store(engine, held.items)
            count += len(held.items)
        held = part
    assert held is not None
    return count, time.perf_counter() - started, end - cfg.span - timedelta(hours=1), held


def latency(server: PgServer, name: str, engine: Engine, run: SimRun) -> dict[str, Any]:
    with engine.begin() as conn:
        token = issue_token(conn, "bench", "station", "CN").token
    app = create_app(Settings(database_url=sa_url(server, name)), engine)
    http = create_server(app, host="127.0.0.1", port=0, threads=8)
    threading.Thread(target=http.run, daemon=True).start()
    port = http.effective_port  # type: ignore[union-attr]
    sender = _Sender(f"http://127.0.0.1:{port}/api/v1/declarations", token, server.url(name))
    items = run.items
    batches = [[d.as_json() for d in items[i : i + BATCH]] for i in range(0, len(items), BATCH)]
    start = time.perf_counter() + 0.5
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(
            pool.map(
                lambda ib: sender.send(start + ib[0] * BATCH / RATE, ib[1]), enumerate(batches)
            )
        )
    elapsed = time.perf_counter() - start
    http.close()
    with engine.connect() as conn:
        kinds = [s.as_dict() for s in evaluate(conn, run)]
    return {
        "declarations_posted": len(items),
        "offered_per_s": RATE,
        "achieved_per_s": round(len(items) / elapsed),
        "post_to_visible_p50_s": _pct(sender.latency, 0.5),
        "post_to_visible_p95_s": _pct(sender.latency, 0.95),
        "post_to_visible_max_s": round(max(sender.latency), 3),
        "sender_lag_max_s": round(max(sender.lag), 3),
        "kinds": kinds,
    }


def _plain_read(dsn: str, since: datetime) -> int:
    """The baseline: every column of the same rows, copied to the client."""
    size = 0
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        sql = "COPY (SELECT * FROM declaration WHERE declared_at >= %s) TO STDOUT (FORMAT BINARY)"
        with cur.copy(sql, (since,)) as copy:
            for block in copy:
                size += len(block)
    return size


def rescreen_million(
    server: PgServer, name: str, engine: Engine, since: datetime
) -> dict[str, Any]:
    with psycopg.connect(server.url(name), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    read_s, screen_s = [], []
    result = None
    for _ in range(2):
        read_s.append(timed(lambda: _plain_read(server.url(name), since))[0])
        seconds, result = timed(lambda: rescreen(engine, since, workers=2))
        screen_s.append(seconds)
    looser, changed = timed(
        lambda: rescreen(engine, since, workers=2, thresholds=Thresholds(z_flag=3.0))
    )
    assert result is not None
    return {
        "declarations_rescreened": result.declarations,
        "rescreen_s": round(median(screen_s), 1),
        "plain_read_s": round(median(read_s), 1),
        "rescreen_vs_plain_read": round(median(screen_s) / median(read_s), 2),
        "rescreen_z3_s": round(looser, 1),
        "rescreen_z3_marks_changed": changed.marks_changed,
        "flags": result.flags,
        "workers": 2,
    }


def run() -> dict[str, Any]:
    with bench_server() as server:
        name, engine = seeded_database(server, template_database(server))
        rows, load_s, since, held = _load(engine)
        live = latency(server, name, engine, held)
        bulk = rescreen_million(server, name, engine, since)
        engine.dispose()
    return {
        "rows_loaded": rows,
        "load_with_screening_per_s": round(rows / load_s),
        "live": live,
        "rescreen": bulk,
        "cpu_count": os.cpu_count(),
    }
