"""Scheduled collector steps: the metrics cycle, the hourly rollup and retention.

Each step is a plain function taking the engine (tests call them directly); quaywatch.scheduler
wraps them in APScheduler jobs. Each runs under a transaction-scoped advisory lock, so several
replicas never run the same step at once. On the Apache build of TimescaleDB these replace
continuous aggregates and retention policies; the tables readers see are the same either way.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

from collector.indicators.store import active_indicators
from collector.metric_definitions import INDICATORS
from collector.metrics import CycleResult, compute, time_steps
from quaywatch.db import try_advisory_lock


class UnknownIndicator(LookupError):
    """No built-in and no stored spec has this code."""


# Points can arrive late (backfills, late events recomputed): re-aggregate this far back.
ROLLUP_LOOKBACK = timedelta(hours=3)
# A backfill batch sorts every (time, lot) pair of its times for the GROUPING SETS: about 60 MB
# for the national present lots at 12 times. At the server's default (4 MB) that sort spills to
# disk and takes twice as long; the setting lasts only for the batch's transaction.
BACKFILL_WORK_MEM = "128MB"

_ROLLUP = text("""
INSERT INTO metric_hourly (bucket, series_id, avg, min, max, last, sum, n)
SELECT time_bucket('1 hour', time) AS bucket, series_id, avg(value), min(value), max(value),
       last(value, time), sum(value), count(*)
FROM metric_point
WHERE time >= :since AND time < :until
GROUP BY 1, 2
ON CONFLICT (series_id, bucket) DO UPDATE SET avg = EXCLUDED.avg, min = EXCLUDED.min,
    max = EXCLUDED.max, last = EXCLUDED.last, sum = EXCLUDED.sum, n = EXCLUDED.n
""")


def metrics_cycle(engine: Engine, now: datetime | None = None) -> CycleResult | None:
    """Compute every indicator, built-in and user-defined (the latest version of each stored
    spec), for every node at `now` (minute-aligned); None if another replica holds the lock."""
    now = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    with engine.begin() as conn:
        if not try_advisory_lock(conn, "collector.metrics_cycle"):
            return None
        result = compute(conn, [now], live=True, extra=active_indicators(conn))
        _mark(conn, "metrics_cycle", now, {"points": result.points})
    return result


def backfill_metrics(
    engine: Engine,
    since: datetime,
    until: datetime,
    step: timedelta,
    batch: int = 12,
    workers: int = 2,
    indicator: str | None = None,
) -> CycleResult:
    """Recompute metrics at every `step` from `since` to `until`; idempotent (upserts).

    With `indicator` (a code), only that indicator is recomputed: its source's rows are read
    once per batch for it alone. Batches of times run on `workers` connections at once: the
    work is in the database, and each batch is its own transaction, so an interrupted
    backfill can simply be run again.
    """
    times = time_steps(since, until, step)
    batches = [times[start : start + batch] for start in range(0, len(times), batch)]
    with engine.connect() as conn:
        extra = active_indicators(conn)
    builtins = indicator is None
    if indicator is not None:
        extra = [i for i in [*extra, *INDICATORS] if i.code == indicator][:1]
        if not extra:
            raise UnknownIndicator(indicator)

    def run(chunk: list[datetime]) -> int:
        with engine.begin() as conn:
            conn.execute(text("SELECT set_config('work_mem', :m, true)"), {"m": BACKFILL_WORK_MEM})
            return compute(conn, chunk, extra=extra, builtins=builtins).points

    with ThreadPoolExecutor(max_workers=workers) as pool:
        points = sum(pool.map(run, batches))
    if times:
        rollup_hourly(engine, until + timedelta(hours=1), since=times[0])
    return CycleResult(len(times), points)


def rollup_hourly(
    engine: Engine, now: datetime | None = None, since: datetime | None = None
) -> int | None:
    """Re-aggregate metric_point into metric_hourly from the watermark (less a look-back) to now."""
    now = now or datetime.now(UTC)
    with engine.begin() as conn:
        if not try_advisory_lock(conn, "collector.rollup_hourly"):
            return None
        watermark = conn.execute(
            text("SELECT watermark FROM job_state WHERE name = 'rollup_hourly'")
        ).scalar()
        start = since or ((watermark - ROLLUP_LOOKBACK) if watermark else now - timedelta(days=400))
        start = start.replace(minute=0, second=0, microsecond=0)
        rows = conn.execute(_ROLLUP, {"since": start, "until": now}).rowcount
        _mark(conn, "rollup_hourly", now, {"rows": rows})
    return rows


@dataclass(frozen=True)
class RetentionPolicy:
    points_days: int
    hourly_days: int
    events_days: int


def apply_retention(engine: Engine, policy: RetentionPolicy) -> dict[str, int]:
    """Drop whole chunks older than each table's retention (drop_chunks works on Apache builds),
    and delete removed lots older than the event retention."""
    dropped: dict[str, int] = {}
    with engine.begin() as conn:
        if not try_advisory_lock(conn, "collector.retention"):
            return dropped
        for table, days in (
            ("metric_point", policy.points_days),
            ("metric_hourly", policy.hourly_days),
            ("cargo_event", policy.events_days),
        ):
            chunks = conn.execute(
                text(
                    "SELECT drop_chunks(CAST(:t AS regclass), older_than => make_interval(days => :d))"
                ),
                {"t": table, "d": days},
            ).all()
            dropped[table] = len(chunks)
        dropped["lot"] = conn.execute(
            text("DELETE FROM lot WHERE removed_at < now() - make_interval(days => :d)"),
            {"d": policy.events_days},
        ).rowcount
    return dropped


def _mark(conn: Connection, name: str, watermark: datetime, detail: dict[str, int]) -> None:
    conn.execute(
        text(
            "INSERT INTO job_state (name, watermark, detail, updated_at)"
            " VALUES (:n, :w, CAST(:d AS jsonb), now())"
            " ON CONFLICT (name) DO UPDATE SET watermark = EXCLUDED.watermark,"
            " detail = EXCLUDED.detail, updated_at = now()"
        ),
        {"n": name, "w": watermark, "d": json.dumps(detail)},
    )
