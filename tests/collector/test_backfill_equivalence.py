"""The backfill's shortcuts (batches of times on two connections, fresh planner statistics, a
larger sort memory) change how fast the metrics are computed, never what they are.

Exactly, except in the last bits of a float average (`avg` over float8): float addition is not
associative and the order of a group's rows depends on the plan, so a mean is reproducible to
about 1e-15 relative and no further, whichever way the times are batched."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from collector.metric_definitions import INDICATORS
from collector.metrics import compute
from collector.sim_runs import backfill
from collector.simulator import SimConfig

END = datetime(2026, 4, 5, 7, 30, tzinfo=UTC)
FLOAT_MEANS = {i.code for i in INDICATORS if "avg(" in i.expr}


Points = dict[tuple[str, str, datetime], tuple[float, int | None]]


def _points(engine: Engine) -> Points:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT s.indicator_code, s.node_id, p.time, p.value, p.spec_version"
                " FROM metric_point p JOIN series s USING (series_id)"
            )
        )
        return {(r[0], r[1], r[2]): (r[3], r[4]) for r in rows}


def _same(code: str, a: tuple[float, int | None] | None, b: tuple[float, int | None]) -> bool:
    if a is None or a[1] != b[1]:
        return False
    return math.isclose(a[0], b[0], rel_tol=1e-14) if code in FLOAT_MEANS else a[0] == b[0]


def test_a_backfill_writes_exactly_the_points_of_one_cycle_per_step(engine: Engine) -> None:
    backfill(engine, 4, SimConfig(seed=1, scale=0.01), end=END, older_step=timedelta(hours=4))
    batched = _points(engine)
    times = sorted({at for _, _, at in batched})
    assert len(times) == 7 + 49  # every 4 h on the first day, then hourly (both ends)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM metric_point"))
    for at in times:  # what the per-step cycle computes: one time per transaction
        with engine.begin() as conn:
            compute(conn, [at])
    one_by_one = _points(engine)
    assert len(one_by_one) == len(batched) > 0
    assert FLOAT_MEANS  # the tolerance below is for these indicators only
    differing = [
        key for key, point in one_by_one.items() if not _same(key[0], batched.get(key), point)
    ]
    assert differing == []


def test_a_backfill_leaves_the_planner_statistics_of_what_it_stored_current(engine: Engine) -> None:
    backfill(engine, 1, SimConfig(seed=1, scale=0.01), end=END)
    with engine.connect() as conn:
        lots, estimated = conn.execute(
            text("SELECT count(*), (SELECT reltuples FROM pg_class WHERE relname = 'lot') FROM lot")
        ).one()
    assert lots > 0
    assert estimated == lots
