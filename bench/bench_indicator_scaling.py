"""Indicator scaling: one live metrics cycle with 41 (the built-ins), 100, 250 and 500
indicators, the extra ones generated specs stored like an operations centre's.

Each figure sits beside a plain scan of the lots held at the same time in the same database,
so the ratio stays comparable on another machine. Specs compile into their source's
statement, so the cost should grow with the aggregates computed, not with passes over the rows.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from bench.common import bench_server, median, seeded_database, timed
from collector.indicators.spec import IndicatorSpec
from collector.indicators.store import apply_spec
from collector.metric_definitions import INDICATORS
from collector.rollup import metrics_cycle
from collector.sim_runs import backfill
from collector.simulator import SimConfig

TOTALS = (len(INDICATORS), 100, 250, 500)
CLASSES = ["1", "2", "2.1", "3", "4", "5.1", "6.1", "8", "9"]
SITE_TYPES = ["SEA", "RIV", "AIR", "LAND", "RAIL", "BZ"]
MEASURES: list[tuple[str, dict[str, Any]]] = [
    ("present", {"kind": "count"}),
    ("present", {"kind": "dwell", "stat": "p90"}),
    ("present", {"kind": "dwell", "stat": "max"}),
    ("released", {"kind": "duration", "from": "declared", "to": "released", "stat": "p50"}),
    ("removed", {"kind": "duration", "from": "arrived", "to": "removed", "stat": "p90"}),
    ("arrived", {"kind": "count"}),
    ("present", {"kind": "share", "part": {"deadline": "overdue"}}),
]


def generated_spec(n: int) -> IndicatorSpec:
    population, measure = MEASURES[n % len(MEASURES)]
    filters: dict[str, Any] = {
        "hazard_class": [CLASSES[n % len(CLASSES)]],
        "site_type": [SITE_TYPES[(n // len(CLASSES)) % len(SITE_TYPES)]],
    }
    if population == "present" and measure["kind"] == "count":
        filters["dwell_over_hours"] = 12 * (1 + n % 8)
    return IndicatorSpec.model_validate(
        {
            "code": f"gen_{n:04d}",
            "name_en": f"Generated {n}",
            "name_zh": f"生成指标{n}",
            "unit": "h" if measure["kind"] in ("dwell", "duration") else "lots",
            "theme": "hazardous_goods",
            "direction": "higher_is_worse",
            "population": population,
            "filters": filters,
            "measure": measure,
        }
    )


def held_scan_s(engine: Any, at: datetime) -> float:
    with engine.connect() as conn:
        started = time.perf_counter()
        conn.execute(
            text(
                "SELECT count(*), max(arrived_at) FROM lot"
                " WHERE arrived_at <= :t AND coalesce(removed_at, 'infinity') > :t"
            ),
            {"t": at},
        ).one()
        return time.perf_counter() - started


def run(days: int = 7, scale: float = 1.0, repeats: int = 3) -> dict[str, Any]:
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    figures: dict[str, Any] = {"days": days, "scale": scale}
    with bench_server() as server:
        _, engine = seeded_database(server)
        backfill(
            engine, days, SimConfig(seed=5, scale=scale), end=end, metric_step=timedelta(days=1)
        )
        with engine.connect() as conn:
            figures["lots_held_at_end"] = conn.execute(
                text("SELECT count(*) FROM lot WHERE removed_at IS NULL")
            ).scalar()
        stored = 0
        for total in TOTALS:
            with engine.begin() as conn:
                for n in range(stored, total - len(INDICATORS)):
                    apply_spec(conn, generated_spec(n), "CN", "bench")
            stored = total - len(INDICATORS)
            cycles, scans = [], []
            for minute in range(repeats):
                at = end + timedelta(minutes=minute)
                seconds, result = timed(lambda at=at: metrics_cycle(engine, at))
                cycles.append(seconds)
                scans.append(held_scan_s(engine, at))
            figures[f"cycle_s_{total}"] = round(median(cycles), 3)
            figures[f"points_{total}"] = result.points if result else 0
            figures[f"held_scan_s_{total}"] = round(median(scans), 4)
            figures[f"cycle_vs_held_scan_{total}"] = round(median(cycles) / median(scans), 1)
        engine.dispose()
    return figures


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(*(float(a) if "." in a else int(a) for a in sys.argv[1:]))))
