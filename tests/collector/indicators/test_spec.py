"""A declarative indicator, compiled into the source statement, computed at every level."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from cargo_events import T0, ev, store
from collector.indicators.compile import compile_spec
from collector.indicators.spec import IndicatorSpec
from collector.indicators.store import register
from collector.metrics import compute
from tests.collector.helpers import RIVER_21_OVER_48H as RIVER
from tests.collector.helpers import point_value as value

LONGTAN, ZHENJIANG, NKG = "2301-LONGTAN", "2301-ZHENJIANG", "2301-NKG"  # RIV, RIV, AIR
TAICANG, WUHU, YANGSHAN = "2302-TAICANG", "3302-WUHU", "2201-YANGSHAN"  # RIV, RIV, SEA

# The shared spec with its population and measure spelled out.
RIVER_21_OVER_48H = {**RIVER, "population": "present", "measure": {"kind": "count"}}


@pytest.fixture
def river_lots(engine):
    flammable = {"hazard_class": "2.1", "un_number": "1965"}
    store(
        engine,
        [
            ev("l1", "arrived", 0, LONGTAN, **flammable),  # 100 h at t: counted
            ev("l2", "arrived", 60, LONGTAN, **flammable),  # 40 h: too recent
            ev("l3", "arrived", 10, LONGTAN, **flammable),
            ev("l3", "removed", 90, LONGTAN),  # gone by t
            ev("l4", "arrived", 0, LONGTAN, hazard_class="3"),  # another class
            ev("l5", "arrived", 0, LONGTAN, hazard_class="2.2"),  # another division
            ev("l6", "arrived", 52, LONGTAN, **flammable),  # exactly 48 h: not more than 48
            ev("z1", "arrived", 20, ZHENJIANG, **flammable),  # counted
            ev("n1", "arrived", 0, NKG, **flammable),  # an airport of the same office
            ev("t1", "arrived", 0, TAICANG, **flammable),  # counted
            ev("t2", "arrived", 30, TAICANG, **flammable),  # counted
            ev("t2", "held", 31, TAICANG),
            ev("w1", "arrived", 5, WUHU, **flammable),  # counted, another customs
            ev("y1", "arrived", 0, YANGSHAN, **flammable),  # a sea port
        ],
    )


def test_class_2_1_lots_held_over_48_h_at_river_ports_at_every_level(engine, river_lots):
    indicator = compile_spec(IndicatorSpec.model_validate(RIVER_21_OVER_48H))
    at = T0 + timedelta(hours=100)
    with engine.begin() as conn:
        register(conn, [indicator])
        compute(conn, [at], extra=[indicator])
    expected = {
        LONGTAN: 1,
        ZHENJIANG: 1,
        NKG: 0,
        TAICANG: 2,
        WUHU: 1,
        YANGSHAN: 0,
        "2301": 2,
        "2302": 2,
        "2300": 4,
        "3300": 1,
        "2200": 0,
        "CN": 5,
    }
    got = {node: value(engine, node, indicator.code, at) for node in expected}
    assert got == expected
    with engine.connect() as conn:
        customs = conn.execute(
            text(
                "SELECT sum(p.value) FROM metric_point p JOIN series s USING (series_id)"
                " JOIN org_node n USING (node_id)"
                " WHERE n.level = 'customs' AND s.indicator_code = :c AND p.time = :t"
            ),
            {"c": indicator.code, "t": at},
        ).scalar()
    assert customs == got["CN"]


def test_filter_values_are_bound_parameters_not_sql_text():
    indicator = compile_spec(IndicatorSpec.model_validate(RIVER_21_OVER_48H))
    params = dict(indicator.params)
    assert ["2.1"] in params.values() and ["RIV"] in params.values()
    assert "2.1" not in indicator.expr and "RIV" not in indicator.expr
    assert all(f":{name} " in indicator.expr for name in params)


def test_the_definition_is_generated_from_the_spec():
    indicator = compile_spec(IndicatorSpec.model_validate(RIVER_21_OVER_48H))
    assert indicator.definition == (
        "Number of lots at the site at t that are of IMDG class 2.1, at sites of type RIV,"
        " on site more than 48 h."
    )


def test_a_class_prefix_names_every_division_of_the_class():
    spec = {**RIVER_21_OVER_48H, "filters": {"hazard_class": ["2"]}}
    params = dict(compile_spec(IndicatorSpec.model_validate(spec)).params)
    assert ["2.1", "2.2", "2.3"] in params.values()


def errors(spec):
    with pytest.raises(ValidationError) as failure:
        IndicatorSpec.model_validate(spec)
    return {".".join(str(p) for p in e["loc"]): e["msg"] for e in failure.value.errors()}


def test_invalid_specs_name_the_field():
    bad = {
        **RIVER_21_OVER_48H,
        "code": "Bad Code; DROP TABLE lot",
        "filters": {"hazard_class": ["2.9"], "site_type": ["LAKE"], "un_number": ["19'65"]},
    }
    got = errors(bad)
    assert set(got) == {
        "code",
        "filters.hazard_class",
        "filters.site_type.0",
        "filters.un_number",
    }
    assert "'2.9' is not an IMDG class" in got["filters.hazard_class"]
    assert "sql" in errors({**RIVER_21_OVER_48H, "sql": "count(*)"})


def test_unbounded_windows_are_refused_with_a_reason():
    over_90_days = {**RIVER_21_OVER_48H, "filters": {"within_hours": {"arrived": 24 * 91}}}
    assert "over 90 days" in errors(over_90_days)["filters.within_hours.arrived"]
    wider = {**RIVER_21_OVER_48H, "population": "released", "window_hours": 48}
    [reason] = errors(wider).values()
    assert "holds only the 24 h before t" in reason


def test_an_empty_list_is_refused_rather_than_matching_nothing():
    empty = {**RIVER_21_OVER_48H, "filters": {"site_type": []}}
    assert "filters.site_type" in errors(empty)
