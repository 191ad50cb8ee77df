"""The built-ins written as specs give exactly the values of the hand-written SQL they replaced,
on the same simulated history, at every time, node and level."""

from __future__ import annotations

import runpy
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from cargo_events import T0, ev, store
from collector.metric_definitions import INDICATORS, SOURCES
from collector.metrics import aggregate_sql, bound_params
from collector.sim_runs import backfill
from collector.simulator import SimConfig

LEGACY = runpy.run_path(str(Path(__file__).with_name("legacy_definitions.py")))["LEGACY"]
END = datetime(2026, 4, 10, tzinfo=UTC)
TIMES = [END - timedelta(hours=h) for h in range(0, 96, 7)]
CONVERTED = [i for i in INDICATORS if i.spec is not None]


@pytest.fixture
def simulated(engine):
    # Metrics at two times only: the comparison below evaluates its own statements.
    backfill(engine, 8, SimConfig(seed=5, scale=0.05), end=END, metric_step=timedelta(days=5))
    return engine


def evaluate(conn, source, indicators, times):
    sql = aggregate_sql(SOURCES[source], indicators) + " SELECT * FROM agg ORDER BY t, node_id"
    params = {"times": times, "tmin": min(times), "tmax": max(times), **bound_params(indicators)}
    return conn.execute(text(sql), params).all()


def compare(engine, times):
    """Assert old and new agree everywhere; return the codes seen non-zero and the levels."""
    nonzero: set[str] = set()
    levels: set[str] = set()
    with engine.connect() as conn:
        level = dict(conn.execute(text("SELECT node_id, level FROM org_node")).all())
        for source in sorted({i.source for i in CONVERTED}):
            new = [i for i in CONVERTED if i.source == source]
            old = [replace(i, expr=LEGACY[i.code][1], params=()) for i in new]
            rows_new = evaluate(conn, source, new, times)
            rows_old = evaluate(conn, source, old, times)
            assert [r[:2] for r in rows_new] == [r[:2] for r in rows_old]
            for row_new, row_old in zip(rows_new, rows_old, strict=True):
                levels.add(level[row_new.node_id])
                for n, indicator in enumerate(new):
                    got, want = row_new[2 + n], row_old[2 + n]
                    assert got == want, (indicator.code, *row_new[:2], got, want)
                    if want:
                        nonzero.add(indicator.code)
    return nonzero, levels


def test_most_lot_built_ins_are_specs_and_the_rest_are_not_lots():
    assert len(CONVERTED) == 32
    hand_written = {i.source for i in INDICATORS if i not in CONVERTED}
    assert hand_written == {"events", "feeds", "declarations", "risk_reviews"}
    assert all(LEGACY[i.code][2] == i.empty for i in INDICATORS)
    assert all(LEGACY[i.code][0] == i.source for i in INDICATORS)


def test_spec_built_ins_equal_the_hand_written_sql_at_every_level(simulated):
    nonzero, levels = compare(simulated, TIMES)
    assert levels == {"site", "office", "customs", "national"}
    # The history exercises nearly every definition; the rare ones are covered below.
    rare = {"hazardous_direct_only_held", "late_declaration_share", "undeclared_over_14d"}
    assert {i.code for i in CONVERTED} - nonzero <= rare


def test_spec_built_ins_equal_the_hand_written_sql_at_the_boundaries(engine):
    store(
        engine,
        [
            ev("x1", "arrived", 0, hazard_class="1.1"),  # direct only
            ev("u1", "arrived", 0),  # undeclared: exactly 14 days at t=336
            ev("u2", "arrived", 10),
            ev("u2", "declared", 347),  # 14 days and 1 h late
            ev("u3", "arrived", 20),
            ev("u3", "declared", 356),  # exactly 14 days: not late
            ev("r1", "arrived", 0),
            ev("r1", "declared", 1),
            ev("r1", "released", 300),  # released, not removed: exactly 48 h at t=348
            ev("i1", "arrived", 0, hazard_class="3"),
            ev("i1", "inspection_started", 220),  # open 120 h at t=340
            ev("h1", "arrived", 0),
            ev("h1", "held", 5),
            ev("h1", "hold_lifted", 336),
        ],
    )
    times = [T0 + timedelta(hours=h) for h in (335, 336, 340, 348, 356, 360, 370)]
    nonzero, _ = compare(engine, times)
    assert {
        "hazardous_direct_only_held",
        "late_declaration_share",
        "undeclared_over_14d",
        "released_not_removed_48h",
        "hazardous_lab_wait_over_5d",
        "lots_on_hold",
    } <= nonzero
