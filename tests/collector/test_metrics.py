from __future__ import annotations

from datetime import timedelta
from typing import get_args

import pytest
from sqlalchemy import text

from cargo_events import T0, ev, store
from collector.indicators.spec import Theme
from collector.metric_definitions import INDICATORS, SOURCES
from collector.metrics import compute
from collector.rollup import backfill_metrics, metrics_cycle, rollup_hourly
from tests.collector.helpers import point_value as value
from tests.collector.helpers import select_value

SHEKOU, CHIWAN, YANGSHAN = "5304-SHEKOU", "5304-CHIWAN", "2201-YANGSHAN"


@pytest.fixture
def port_history(engine):
    # Shekou: two hazardous class-3 lots (120 h limit), one overdue by t=130 h.
    # Chiwan (same office): one general lot. Yangshan (Shanghai): one class 8 lot.
    store(
        engine,
        [
            ev("a", "arrived", 0, SHEKOU, hazard_class="3", un_number="1203"),
            ev("b", "arrived", 100, SHEKOU, hazard_class="3", un_number="1203"),
            ev("c", "arrived", 10, CHIWAN),
            ev("c", "declared", 11, CHIWAN),
            ev("c", "released", 20, CHIWAN),
            ev("d", "arrived", 110, YANGSHAN, hazard_class="8", packing_group="III"),
        ],
    )


def test_counts_roll_up_from_sites_to_the_nation_with_one_definition(engine, port_history):
    at = T0 + timedelta(hours=130)
    with engine.begin() as conn:
        compute(conn, [at])
    assert value(engine, SHEKOU, "hazardous_lots_held", at) == 2
    assert value(engine, SHEKOU, "hazardous_overdue", at) == 1
    assert value(engine, "5304", "hazardous_lots_held", at) == 2
    assert value(engine, "5300", "lots_on_site", at) == 3
    assert value(engine, "CN", "hazardous_lots_held", at) == 3
    assert value(engine, "CN", "hazardous_overdue", at) == 1


def test_a_site_without_lots_reports_zero_not_nothing(engine, port_history):
    at = T0 + timedelta(hours=130)
    with engine.begin() as conn:
        compute(conn, [at])
    assert value(engine, "0100", "hazardous_lots_held", at) == 0
    assert value(engine, "0100", "hazardous_dwell_p90_hours", at) is None


def test_national_percentiles_come_from_all_lots_not_from_site_percentiles(engine, port_history):
    at = T0 + timedelta(hours=130)
    with engine.begin() as conn:
        compute(conn, [at])
    # held hazardous dwell: a=130 h, b=30 h (Shekou), d=20 h (Yangshan)
    expected = sorted([130.0, 30.0, 20.0])
    national_p90 = value(engine, "CN", "hazardous_dwell_p90_hours", at)
    assert national_p90 == pytest.approx(expected[1] + 0.8 * (expected[2] - expected[1]))
    assert value(engine, SHEKOU, "hazardous_dwell_max_hours", at) == pytest.approx(130.0)


def test_clearance_time_covers_lots_released_in_the_last_24_hours(engine, port_history):
    inside, outside = T0 + timedelta(hours=30), T0 + timedelta(hours=50)
    with engine.begin() as conn:
        compute(conn, [inside, outside])
    assert value(engine, CHIWAN, "clearance_time_p50_hours", inside) == pytest.approx(9.0)
    assert value(engine, CHIWAN, "clearance_time_p50_hours", outside) is None


def test_recomputing_a_time_is_idempotent(engine, port_history):
    at = T0 + timedelta(hours=130)
    with engine.begin() as conn:
        compute(conn, [at])
        compute(conn, [at])
        count = conn.execute(text("SELECT count(*) FROM metric_point WHERE time = :t"), {"t": at})
    assert count.scalar() > 0
    store(engine, [ev("e", "arrived", 125, SHEKOU, hazard_class="3")])
    with engine.begin() as conn:
        compute(conn, [at])
    assert value(engine, SHEKOU, "hazardous_lots_held", at) == 3


def test_a_live_cycle_refreshes_the_latest_value_per_series(engine, port_history):
    at = T0 + timedelta(hours=130)
    result = metrics_cycle(engine, at)
    assert result is not None and result.points > 0
    latest = select_value(
        engine,
        "SELECT l.value FROM series_latest l JOIN series s USING (series_id)"
        " WHERE s.node_id = 'CN' AND s.indicator_code = 'hazardous_lots_held'",
    )
    assert latest == 3


def test_backfill_writes_every_step_and_hourly_rollups(engine, port_history):
    since, until = T0 + timedelta(hours=100), T0 + timedelta(hours=104)
    result = backfill_metrics(engine, since, until, timedelta(hours=1))
    assert result.times == 5
    hours = select_value(
        engine,
        "SELECT count(DISTINCT bucket) FROM metric_hourly h JOIN series s USING (series_id)"
        " WHERE s.node_id = 'CN'",
    )
    assert hours == 5
    assert rollup_hourly(engine, until + timedelta(hours=1)) is not None


def test_every_indicator_names_a_known_source_and_theme():
    themes = {i.theme for i in INDICATORS}
    assert len(INDICATORS) >= 25
    assert themes == set(get_args(Theme))
    assert all(i.source in SOURCES for i in INDICATORS)
