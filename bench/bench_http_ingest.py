"""HTTP ingest: POST /api/v1/events in batches of 1,000 from 4 clients on 127.0.0.1, against the
same batches stored directly through collector.store (no HTTP, no JSON) side by side."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import requests
from waitress.server import create_server

from bench.bench_ingest import collector_path, sample_events
from bench.common import bench_server, sa_url, seeded_database, template_database, timed
from collector.events import EVENT_COLUMNS, EventRow
from quaywatch.security.auth import issue_token
from quaywatch.settings import Settings
from quaywatch.web import create_app

BATCH = 1000


def as_json(rows: list[EventRow]) -> list[dict[str, Any]]:
    # Shift into the last day so the API's clock-skew check accepts every event.
    shift = datetime.now(UTC) - max(row[1] for row in rows)
    out = []
    for row in rows:
        item = dict(zip(EVENT_COLUMNS, row, strict=True))
        item["occurred_at"] = (item["occurred_at"] + shift).isoformat()
        out.append(
            {k: v for k, v in item.items() if v is not None and k not in ("received_at", "source")}
        )
    return out


def run() -> dict[str, Any]:
    rows = sample_events(days=1)
    body = as_json(rows)
    batches = [body[i : i + BATCH] for i in range(0, len(body), BATCH)]
    with bench_server() as server:
        template = template_database(server)
        name, engine = seeded_database(server, template)
        with engine.begin() as conn:
            token = issue_token(conn, "bench", "station", "CN").token
        settings = Settings(database_url=sa_url(server, name))
        http = create_server(create_app(settings, engine), host="127.0.0.1", port=0, threads=8)
        threading.Thread(target=http.run, daemon=True).start()
        url = f"http://127.0.0.1:{http.effective_port}/api/v1/events"  # type: ignore[union-attr]
        session = requests.Session()

        def post(batch: list[dict[str, Any]]) -> int:
            response = session.post(
                url, json=batch, timeout=60, headers={"Authorization": f"Bearer {token}"}
            )
            response.raise_for_status()
            return int(response.json()["stored"])

        with ThreadPoolExecutor(max_workers=4) as pool:
            http_s, stored = timed(lambda: sum(pool.map(post, batches)))
        http.close()
        engine.dispose()
        direct_name, direct_engine = seeded_database(server, template)
        direct_s, _ = timed(lambda: collector_path(direct_engine, rows))
        direct_engine.dispose()
    return {
        "events": len(rows),
        "stored_over_http": stored,
        "http_events_per_s": round(len(rows) / http_s),
        "direct_events_per_s": round(len(rows) / direct_s),
        "http_vs_direct": round(direct_s / http_s, 2),
        "batch": BATCH,
        "clients": 4,
    }
