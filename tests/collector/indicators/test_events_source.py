"""A spec of `source: events` counts, rates and times the cargo events of a bounded window, in
one statement for every such spec, at every level, with the same definition at each."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from cargo_events import T0, ev, store
from collector.indicators.compile import compile_spec
from collector.indicators.spec import IndicatorSpec
from collector.indicators.store import register
from collector.metrics import bound_params, compute, source_statement
from tests.collector.helpers import RIVER_21_OVER_48H
from tests.collector.helpers import point_value as value

LONGTAN, TAICANG, SHEKOU = "2301-LONGTAN", "2302-TAICANG", "5304-SHEKOU"  # RIV, RIV, SEA
AT = T0 + timedelta(hours=10)

BASE = {
    "name_en": "Events",
    "name_zh": "事件",
    "unit": "events",
    "theme": "data_quality",
    "direction": "neutral",
    "source": "events",
}
GATE_IN_RIVER_PER_HOUR = {
    **BASE,
    "code": "gate_in_river_per_hour",
    "unit": "events/h",
    "window_hours": 2,
    "filters": {"event_kind": ["arrived"], "site_type": ["RIV"]},
    "measure": {"kind": "per_hour"},
}
EVENTS_3H = {**BASE, "code": "events_3h", "window_hours": 3}
FLAMMABLE_GAS_3H = {**EVENTS_3H, "code": "flammable_gas_3h", "filters": {"hazard_class": ["2"]}}
LATE_SHARE_3H = {
    **EVENTS_3H,
    "code": "late_share_3h",
    "unit": "%",
    "measure": {"kind": "share", "part": {"late_over_minutes": 15}},
}
DELAY_P90_3H = {
    **EVENTS_3H,
    "code": "delay_p90_3h",
    "unit": "min",
    "measure": {"kind": "delay", "stat": "p90"},
}
SPECS = [GATE_IN_RIVER_PER_HOUR, EVENTS_3H, FLAMMABLE_GAS_3H, LATE_SHARE_3H, DELAY_P90_3H]


@pytest.fixture
def river_events(engine):
    # At t = 10 h; the minutes after each event's time are its delay (occurred to received).
    at_ten = [
        ev("l1", "arrived", 9.5, LONGTAN),  # 30 min
        ev("l1", "removed", 9.8, LONGTAN),  # 12 min
        ev("t1", "arrived", 9.0, TAICANG, hazard_class="2.1", un_number="1965"),  # 60 min
        ev("s1", "arrived", 9.9, SHEKOU),  # 6 min
    ]
    store(engine, at_ten, received_at=AT)
    store(engine, [ev("l2", "arrived", 8.0, LONGTAN)], received_at=T0 + timedelta(hours=8.5))
    # Outside every window at t: 4 h and 5 h before it.
    store(engine, [ev("l3", "arrived", 6.0, LONGTAN), ev("s2", "arrived", 5.0, SHEKOU)], T0)


def computed(engine, specs, scope=None):
    indicators = [
        replace(compile_spec(IndicatorSpec.model_validate(s)), scope=scope) for s in specs
    ]
    with engine.begin() as conn:
        register(conn, indicators)
        compute(conn, [AT], extra=indicators, builtins=False)
    return indicators


def values(engine, code, nodes):
    return {node: value(engine, node, code, AT) for node in nodes}


NODES = [LONGTAN, TAICANG, SHEKOU, "2301", "2300", "5300", "0100", "CN"]


def test_gate_in_events_per_hour_at_river_ports(engine, river_events):
    computed(engine, [GATE_IN_RIVER_PER_HOUR])
    # Window (8 h, 10 h]: l1 at 9.5 h and t1 at 9 h; l2 at exactly 8 h is not after t - 2 h.
    assert values(engine, "gate_in_river_per_hour", NODES) == {
        LONGTAN: 0.5,
        TAICANG: 0.5,
        SHEKOU: 0,
        "2301": 0.5,
        "2300": 1.0,
        "5300": 0,
        "0100": 0,
        "CN": 1.0,
    }


def test_counts_shares_and_delays_of_the_events_in_the_window(engine, river_events):
    computed(engine, SPECS)
    # Window (7 h, 10 h]: Longtan l2, l1 arrived, l1 removed; Taicang t1; Shekou s1.
    assert values(engine, "events_3h", NODES) == {
        LONGTAN: 3,
        TAICANG: 1,
        SHEKOU: 1,
        "2301": 3,
        "2300": 4,
        "5300": 1,
        "0100": 0,
        "CN": 5,
    }
    assert values(engine, "flammable_gas_3h", [TAICANG, LONGTAN, "CN"]) == {
        TAICANG: 1,
        LONGTAN: 0,
        "CN": 1,
    }
    # Late (over 15 min): l2 30, l1 arrived 30, t1 60; on time: l1 removed 12, s1 6.
    assert values(engine, "late_share_3h", [LONGTAN, "2300", SHEKOU, "CN", "0100"]) == {
        LONGTAN: pytest.approx(200 / 3),
        "2300": 75.0,
        SHEKOU: 0.0,
        "CN": 60.0,
        "0100": None,
    }
    # Delays 6, 12, 30, 30, 60: p90 = 30 + 0.6 * (60 - 30); no events, no point.
    assert values(engine, "delay_p90_3h", [SHEKOU, "CN", "0100"]) == {
        SHEKOU: pytest.approx(6.0),
        "CN": pytest.approx(48.0),
        "0100": None,
    }


def level_values(engine, code, level):
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.value FROM metric_point p JOIN series s USING (series_id)"
                " JOIN org_node n USING (node_id)"
                " WHERE n.level = :l AND s.indicator_code = :c AND p.time = :t"
            ),
            {"l": level, "c": code, "t": AT},
        )
        return [r[0] for r in rows]


def test_the_nation_is_the_sum_or_pooled_statistic_of_its_parts(engine, river_events):
    computed(engine, SPECS)
    for code in ["gate_in_river_per_hour", "events_3h", "flammable_gas_3h"]:
        national = value(engine, "CN", code, AT)
        assert sum(level_values(engine, code, "customs")) == national
        assert sum(level_values(engine, code, "site")) == national
    # A national p90 is the p90 of every event's delay, not a mean of the customs' p90s.
    customs_p90s = level_values(engine, "delay_p90_3h", "customs")
    assert sorted(customs_p90s) == pytest.approx([6.0, 30 + 0.7 * 30])
    assert value(engine, "CN", "delay_p90_3h", AT) == pytest.approx(48.0)


def test_a_customs_events_indicator_is_computed_only_in_its_subtree(engine, river_events):
    computed(engine, [EVENTS_3H], scope="2300")
    assert values(engine, "events_3h", [LONGTAN, "2300", SHEKOU, "5300", "CN"]) == {
        LONGTAN: 3,
        "2300": 4,
        SHEKOU: None,
        "5300": None,
        "CN": None,
    }


def lots():
    return compile_spec(IndicatorSpec.model_validate(RIVER_21_OVER_48H))


def test_every_events_spec_is_one_more_column_of_one_time_bounded_statement():
    indicators = tuple(compile_spec(IndicatorSpec.model_validate(s)) for s in SPECS)
    assert {i.source for i in indicators} == {"cargo_events"}
    sql = source_statement("cargo_events", False, indicators, False)
    assert sql.count("FROM cargo_event s") == 1
    since = "CAST(:cargo_events__hours AS float8) * interval '1 hour'"
    assert f"occurred_at > CAST(:tmin AS timestamptz) - {since} AND occurred_at <= :tmax" in sql
    # It reads the widest window of the specs it computes (3 h), not the 24 h any may ask for.
    assert bound_params(indicators)["cargo_events__hours"] == 3.0
    assert "cargo_events__hours" not in bound_params([lots()])


def test_the_statement_reads_only_the_chunks_of_its_window(engine, river_events):
    # A month later is another 7-day chunk of cargo_event; computing t = 10 h must not read it.
    store(engine, [ev("m1", "arrived", 24 * 30, LONGTAN)], T0 + timedelta(days=30))
    indicators = (compile_spec(IndicatorSpec.model_validate(EVENTS_3H)),)
    sql = source_statement("cargo_events", False, indicators, False)
    params = {"times": [AT], "tmin": AT, "tmax": AT, **bound_params(indicators)}
    with engine.begin() as conn:
        register(conn, list(indicators))
        chunks = set(
            conn.execute(text("SELECT show_chunks('cargo_event')::regclass::text")).scalars()
        )
        plan = conn.execute(text(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}"), params).scalar_one()
    document = plan if isinstance(plan, list) else json.loads(plan)
    scanned = {node.get("Relation Name") for node in _plan_nodes(document[0]["Plan"])}
    read = {chunk for chunk in chunks if chunk.rsplit(".", 1)[-1] in scanned}
    assert len(chunks) >= 2 and len(read) == 1


def _plan_nodes(node):
    yield node
    for child in node.get("Plans", []):
        yield from _plan_nodes(child)


def errors(spec):
    with pytest.raises(ValidationError) as failure:
        IndicatorSpec.model_validate(spec)
    return {".".join(str(p) for p in e["loc"]): e["msg"] for e in failure.value.errors()}


def test_an_events_spec_without_a_bounded_window_is_refused_naming_window_hours():
    unbounded = {k: v for k, v in EVENTS_3H.items() if k != "window_hours"}
    assert "unbounded look-back" in errors(unbounded)["window_hours"]
    assert "only the 24 h before t" in errors({**EVENTS_3H, "window_hours": 48})["window_hours"]
    assert "over 90 days" in errors({**EVENTS_3H, "window_hours": 24 * 91})["window_hours"]


def test_lot_filters_and_measures_are_refused_for_events_and_event_ones_for_lots():
    assert set(errors({**EVENTS_3H, "filters": {"stage": ["declared"]}})) == {"filters.stage"}
    assert set(errors({**EVENTS_3H, "filters": {"event_kind": ["gate_in"]}})) == {
        "filters.event_kind.0"
    }
    dwell = {**EVENTS_3H, "measure": {"kind": "dwell", "stat": "p90"}}
    assert set(errors(dwell)) == {"measure.kind"}
    on_hold = {**EVENTS_3H, "measure": {"kind": "share", "part": {"on_hold": True}}}
    assert set(errors(on_hold)) == {"measure.part.on_hold"}
    assert set(errors({**EVENTS_3H, "population": "present"})) == {"population"}
    lots = {**EVENTS_3H, "source": "lots", "window_hours": None}
    assert set(errors({**lots, "filters": {"event_kind": ["arrived"]}})) == {"filters.event_kind"}
    assert set(errors({**lots, "measure": {"kind": "per_hour"}})) == {"measure.kind"}


def test_an_events_spec_is_stored_without_a_population_and_validates_again():
    spec = IndicatorSpec.model_validate(GATE_IN_RIVER_PER_HOUR)
    stored = compile_spec(spec).spec
    assert stored is not None and "population" not in stored
    assert IndicatorSpec.model_validate(stored) == spec
    assert compile_spec(spec).definition == (
        "Number of cargo events that occurred in the 2 h before t that are at sites of type RIV,"
        " of kind arrived, divided by 2 (per hour)."
    )
