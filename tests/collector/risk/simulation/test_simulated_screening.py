"""Precision and recall per anomaly kind on simulated declarations, a re-screen that agrees with
live screening, and the flag indicators rolled up the org tree.

Thresholds: every kind has precision >= 0.8 and recall >= 0.8, and under 1% of normal
declarations carry any flag (measured figures are in docs/risk-screening.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from collector.metrics import compute
from collector.risk.rescreen import rescreen
from collector.risk.simulation.evaluation import evaluate, false_flag_rate
from collector.risk.simulation.simulator import RiskSimConfig, SimRun, generate
from collector.risk.store import save_declarations
from pgtest import PgServer
from quaywatch.db import make_engine, raw_connection
from quaywatch.settings import Settings

CONFIG = RiskSimConfig(seed=5, warmup=10_000, declarations=6_000, anomaly_rate=0.012)
MIN_PRECISION = 0.8
MIN_RECALL = 0.8


@pytest.fixture(scope="module")
def simulated(pg_server: PgServer, template_db: str) -> Iterator[tuple[Engine, SimRun]]:
    name = pg_server.create_database(template=template_db)
    url = pg_server.url(name).replace("postgresql://", "postgresql+psycopg://", 1)
    engine = make_engine(Settings(database_url=url))
    run = generate(CONFIG)
    for start in range(0, len(run.items), 2000):
        with raw_connection(engine) as conn:
            rows = [d.as_row("sim", d.arrival) for d in run.items[start : start + 2000]]
            save_declarations(conn, rows)
    yield engine, run
    engine.dispose()
    pg_server.drop_database(name)


def assert_good(engine: Engine, run: SimRun) -> None:
    with engine.connect() as conn:
        scores = {s.kind: s for s in evaluate(conn, run)}
        assert false_flag_rate(conn, run) < 0.01
    for kind, score in scores.items():
        assert score.injected >= 40, kind
        assert score.precision is not None and score.precision >= MIN_PRECISION, score.as_dict()
        assert score.recall is not None and score.recall >= MIN_RECALL, score.as_dict()


def test_every_injected_kind_is_found_with_high_precision_and_recall(simulated):
    assert_good(*simulated)


def test_a_rescreen_agrees_with_live_screening(simulated):
    engine, run = simulated
    with engine.connect() as conn:
        before = conn.execute(
            text("SELECT count(*) FROM declaration WHERE risk_score IS NOT NULL")
        ).scalar()
    result = rescreen(engine, datetime.now(UTC) - timedelta(days=30), workers=2, slice_rows=4000)
    assert result.declarations == len({d.declaration_id for d in run.items})
    assert result.slices > 1
    assert_good(engine, run)
    with engine.connect() as conn:
        after = conn.execute(
            text("SELECT count(*) FROM declaration WHERE risk_score IS NOT NULL")
        ).scalar()
        stray = conn.execute(
            text(
                "SELECT count(*) FROM declaration d WHERE (d.risk_score IS NOT NULL) <>"
                " EXISTS (SELECT 1 FROM risk_flag f WHERE f.declaration_id = d.declaration_id)"
            )
        ).scalar()
    assert stray == 0
    assert abs(after - before) <= 0.05 * before


def test_flag_counts_and_rates_are_indicators_at_every_level(simulated):
    engine, _ = simulated
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    with engine.begin() as conn:
        compute(conn, [now])
        values = dict(
            conn.execute(
                text(
                    "SELECT s.node_id || ':' || s.indicator_code, p.value FROM metric_point p"
                    " JOIN series s USING (series_id) WHERE p.time = :t"
                    " AND s.indicator_code IN ('declarations_flagged_24h',"
                    " 'declarations_screened_24h', 'declaration_flag_rate_per_1000')"
                    " AND s.node_id IN ('CN', '5300', '5304', '5304-SHEKOU', '5304-CHIWAN')"
                ),
                {"t": now},
            ).all()
        )
        flagged = conn.execute(
            text(
                "SELECT count(*) FROM declaration WHERE risk_score IS NOT NULL"
                " AND declared_at > CAST(:t AS timestamptz) - interval '24 hours'"
                " AND declared_at <= :t"
            ),
            {"t": now},
        ).scalar()
    assert values["CN:declarations_flagged_24h"] == flagged > 0
    shekou = values["5304-SHEKOU:declarations_flagged_24h"]
    chiwan = values["5304-CHIWAN:declarations_flagged_24h"]
    assert values["5304:declarations_flagged_24h"] >= shekou + chiwan
    rate = values["CN:declaration_flag_rate_per_1000"]
    assert rate == pytest.approx(1000 * flagged / values["CN:declarations_screened_24h"])
