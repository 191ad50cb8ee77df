"""Bulk ingest through the collector's own path against a raw binary COPY of the same rows.

Both sides write the same simulated events into the same table of a fresh database; they run
alternately (A B A B ...) so machine noise hits both. The collector path also dedupes by event
id and folds every event into lot state, in the same transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import bench_server, median, seeded_database, template_database, timed
from collector.events import EVENT_COLUMNS, EventRow
from collector.sim_runs import sites
from collector.simulator import SimConfig, simulate
from collector.store import _COPY_TYPES, save_events
from quaywatch.db import raw_connection

BATCH = 20_000


def sample_events(days: int = 3) -> list[EventRow]:
    end = datetime(2026, 5, 10, tzinfo=UTC)
    rows: list[EventRow] = []
    for batch in simulate(sites(), end - timedelta(days=days), end, SimConfig(seed=11)):
        rows.extend(batch)
    # Distinct ids only: COPY into a unique index cannot take the simulator's re-sends.
    unique = {row[0]: row for row in rows}
    return list(unique.values())


def copy_rows(engine: Any, rows: list[EventRow]) -> None:
    for start in range(0, len(rows), BATCH):
        with raw_connection(engine) as conn, conn.cursor() as cur:
            with cur.copy(
                f"COPY cargo_event ({', '.join(EVENT_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(_COPY_TYPES)
                for row in rows[start : start + BATCH]:
                    copy.write_row(row)


def collector_path(engine: Any, rows: list[EventRow]) -> None:
    for start in range(0, len(rows), BATCH):
        with raw_connection(engine) as conn:
            save_events(conn, rows[start : start + BATCH])


def run(repeats: int = 3) -> dict[str, Any]:
    rows = sample_events()
    copy_s: list[float] = []
    path_s: list[float] = []
    with bench_server() as server:
        template = template_database(server)
        for _ in range(repeats):
            for side, times in (("copy", copy_s), ("collector", path_s)):
                name, engine = seeded_database(server, template)
                fn = copy_rows if side == "copy" else collector_path
                seconds, _ = timed(lambda fn=fn, engine=engine: fn(engine, rows))
                times.append(seconds)
                engine.dispose()
                server.drop_database(name)
    copy_rate = len(rows) / median(copy_s)
    path_rate = len(rows) / median(path_s)
    return {
        "events": len(rows),
        "copy_events_per_s": round(copy_rate),
        "collector_events_per_s": round(path_rate),
        "ratio_vs_copy": round(path_rate / copy_rate, 2),
        "target": ">= 0.5",
    }
