from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta

import numpy as np
from sqlalchemy import text

from collector.org_hierarchy import read_org_nodes
from collector.sim_runs import backfill, write_ground_truth
from collector.simulator import Incident, SimConfig, events_of, lots_for_day, simulate

SITES = {node.node_id: node for node in read_org_nodes() if node.level == "site"}
QIANWAN = SITES["4202-QIANWAN"]


def test_the_same_seed_gives_the_same_events_whatever_the_window():
    end = datetime(2026, 6, 3, tzinfo=UTC)
    whole = [
        e
        for batch in simulate([QIANWAN], end - timedelta(days=2), end, SimConfig(seed=3))
        for e in batch
    ]
    halves = [
        e
        for start, stop in (
            (end - timedelta(days=2), end - timedelta(days=1)),
            (end - timedelta(days=1), end),
        )
        for batch in simulate([QIANWAN], start, stop, SimConfig(seed=3), after=start)
        for e in batch
    ]
    firsts = {e[0] for e in whole}
    assert {e[0] for e in halves} <= firsts
    other = {
        e[0]: e
        for batch in simulate([QIANWAN], end - timedelta(days=2), end, SimConfig(seed=4))
        for e in batch
    }
    assert other.keys() != firsts


def test_volume_follows_site_throughput_and_dips_for_the_spring_festival():
    big = sum(
        len(lots_for_day(QIANWAN, date(2026, 3, 10 + d), SimConfig()).arrived) for d in range(7)
    )
    small = sum(
        len(lots_for_day(SITES["5317-SZX"], date(2026, 3, 10 + d), SimConfig()).arrived)
        for d in range(7)
    )
    festival = sum(
        len(lots_for_day(QIANWAN, date(2026, 2, 17 + d), SimConfig()).arrived) for d in range(7)
    )
    assert big > 5 * small
    assert festival < 0.75 * big


def test_a_lab_backlog_makes_hazardous_lots_overstay_their_deadlines():
    day = date(2026, 4, 1)
    start = datetime(2026, 4, 1, tzinfo=UTC)
    backlog = SimConfig(
        incidents=(Incident("lab_backlog", QIANWAN.node_id, start, start + timedelta(days=3)),)
    )

    def mean_inspection_hours(cfg: SimConfig) -> float:
        spans = []
        for offset in range(3):
            lots = lots_for_day(QIANWAN, day + timedelta(days=offset), cfg)
            hazardous = np.array([h is not None for h in lots.hazard])
            spans.append((lots.insp_end - lots.insp_start)[hazardous])
        values = np.concatenate(spans)
        return float(np.nanmean(values)) / 3600

    assert mean_inspection_hours(backlog) > 2 * mean_inspection_hours(SimConfig())


def test_events_include_late_and_duplicated_deliveries():
    lots = lots_for_day(QIANWAN, date(2026, 4, 1), SimConfig())
    rows = events_of(lots, 7, float("inf"))
    ids = [row[0] for row in rows]
    late = [row for row in rows if (row[2] - row[1]).total_seconds() > 600]
    assert len(ids) > len(set(ids))
    assert late


def test_a_backfill_goes_through_the_ingest_path_and_writes_ground_truth(engine, tmp_path):
    end = datetime(2026, 4, 5, tzinfo=UTC)
    result = backfill(engine, 3, SimConfig(seed=1, scale=0.03), end=end)
    assert result.stored > 1000
    assert result.metric_times == 2 * 24 + 1  # hourly from a day after the start, both ends
    with engine.connect() as conn:
        hazardous = conn.execute(
            text(
                "SELECT count(*) FROM lot WHERE hazard_class IS NOT NULL AND deadline_at IS NOT NULL"
            )
        ).scalar()
        national = conn.execute(
            text(
                "SELECT count(*) FROM metric_hourly h JOIN series s USING (series_id)"
                " WHERE s.node_id = 'CN' AND s.indicator_code = 'lots_on_site'"
            )
        ).scalar()
    assert national == 49
    path = tmp_path / "truth.csv"
    assert write_ground_truth(engine, path) == hazardous > 0
    rows = list(csv.DictReader(path.open()))
    assert {"lot_id", "deadline_at", "breached_at"} <= rows[0].keys()


def test_a_backfill_command_stores_declarations_and_keeps_a_log_free_of_progress_bars(
    settings, monkeypatch, engine
):
    from collector.commands import register
    from tests.command_line import quaywatch_runner

    run = quaywatch_runner(settings, monkeypatch, register)
    result = run(
        "simulate", "backfill", "--days", "4", "--scale", "0.01", "--end", "2026-04-05",
        "--older-step-hours", "6",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    # Hourly for the last two days (both ends), every 6 hours for the day before.
    assert "metrics at 53 times" in result.output
    assert "\r" not in result.output and "it/s" not in result.output
    with engine.connect() as conn:
        declared, flagged = conn.execute(
            text("SELECT count(*), count(risk_score) FROM declaration")
        ).one()
    assert declared > 20_000 and flagged > 0
