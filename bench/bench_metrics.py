"""National scale: backfill 30 simulated days (events + hourly metrics), then one live cycle.

Targets: the backfill under 10 minutes with flat memory, one metrics cycle under 2 s. The
baseline beside each figure is a plain full scan of the lot table in the same database, so the
ratio stays comparable on a busier or faster machine.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from bench.common import bench_server, median, seeded_database, timed
from collector.rollup import metrics_cycle
from collector.sim_runs import backfill
from collector.simulator import SimConfig


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class RssSampler:
    """Samples this process's resident memory every second while the backfill runs."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.samples.append(rss_mb())

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run(days: int = 30) -> dict[str, Any]:
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    with bench_server() as server:
        _, engine = seeded_database(server)
        with RssSampler() as rss:
            result = backfill(engine, days, SimConfig(seed=5), end=end)
        tenth = max(len(rss.samples) // 10, 1)
        cycles, scans = [], []
        for minute in range(5):
            at = end - timedelta(minutes=minute)
            seconds, _ = timed(lambda at=at: metrics_cycle(engine, at))
            cycles.append(seconds)
            with engine.connect() as conn:
                started = time.perf_counter()
                conn.execute(text("SELECT count(*), max(arrived_at) FROM lot")).one()
                scans.append(time.perf_counter() - started)
        with engine.connect() as conn:
            lots, present = conn.execute(
                text("SELECT count(*), count(*) FILTER (WHERE removed_at IS NULL) FROM lot")
            ).one()
        engine.dispose()
    return {
        "days": days,
        "events": result.events,
        "lots": lots,
        "lots_on_site_at_end": present,
        "backfill_s": round(result.seconds, 1),
        "backfill_target_s": 600,
        "rss_mb_after_first_tenth": round(rss.samples[tenth - 1], 1) if rss.samples else None,
        "rss_mb_max": round(max(rss.samples), 1) if rss.samples else None,
        "metrics_cycle_s": round(median(cycles), 3),
        "metrics_cycle_target_s": 2.0,
        "lot_full_scan_s": round(median(scans), 3),
        "cycle_vs_full_scan": round(median(cycles) / median(scans), 1),
    }
