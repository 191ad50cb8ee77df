"""Re-screen stored declarations against today's references, thresholds and rules.

The window is cut into time slices of about `slice_rows` declarations (from hourly counts), and
`workers` connections score slices in parallel, each slice in its own transaction: an
interrupted re-screen can simply be run again, and ingest keeps running meanwhile. Novelty
features read the context stored with each declaration, so they judge as at arrival.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from collector.risk.features import DEFAULT_THRESHOLDS, Thresholds
from collector.risk.scoring import SliceResult, rescreen_slice
from quaywatch.db import raw_connection


@dataclass(frozen=True)
class RescreenResult:
    declarations: int
    flags: int
    marks_changed: int
    slices: int
    seconds: float

    def describe(self) -> str:
        return (
            f"re-screened {self.declarations:,} declarations in {self.slices} slices in"
            f" {self.seconds:.1f} s: {self.flags:,} flags, {self.marks_changed:,} marks changed"
        )


# Slices are cut at hour boundaries from hourly counts: planning fetches a row an hour, not
# the declarations.
_HOURLY_COUNTS = text(
    "SELECT time_bucket('1 hour', declared_at) AS h, count(*) FROM declaration"
    " WHERE declared_at >= :since AND declared_at < :until GROUP BY h ORDER BY h"
)


def slices(
    engine: Engine, since: datetime, until: datetime, slice_rows: int
) -> list[tuple[datetime, datetime]]:
    """Consecutive [lo, hi) windows covering [since, until), each about `slice_rows` rows."""
    with engine.connect() as conn:
        hours = conn.execute(_HOURLY_COUNTS, {"since": since, "until": until}).all()
    out: list[tuple[datetime, datetime]] = []
    lo, rows = since, 0
    for hour, count in hours:
        rows += count
        if rows >= slice_rows:
            hi = hour + timedelta(hours=1)
            out.append((lo, hi))
            lo, rows = hi, 0
    if rows:
        out.append((lo, until))
    return out


def rescreen(
    engine: Engine,
    since: datetime,
    until: datetime | None = None,
    workers: int = 2,
    slice_rows: int = 50_000,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> RescreenResult:
    started = time.perf_counter()
    until = until or datetime.now(UTC) + timedelta(days=1)
    windows = slices(engine, since, until, slice_rows)

    def run(window: tuple[datetime, datetime]) -> SliceResult:
        with raw_connection(engine) as conn:
            return rescreen_slice(conn, window[0], window[1], thresholds)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(pool.map(run, windows))
    return RescreenResult(
        sum(r.declarations for r in results),
        sum(r.flags for r in results),
        sum(r.marks_changed for r in results),
        len(windows),
        time.perf_counter() - started,
    )
