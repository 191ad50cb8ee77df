"""Input that PostgreSQL or the screening arithmetic cannot hold is one item's error, never the
batch's: NUL characters, numbers whose conversion or ratios overflow, instants outside the
representable range. The valid rest of the batch is stored."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from collector.events import TimePolicy
from collector.risk.declarations import (
    LIMITS,
    derived_values,
    parse_declaration,
    parse_declarations,
)
from collector.risk.simulation.simulator import RATES


def post(client, auth, items):
    return client.post("/api/v1/declarations", json=items, headers=auth)


def stored_ids(engine) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(text("SELECT declaration_id FROM declaration ORDER BY 1")).scalars()
        )


def one_bad_among_good(client, auth, risk, bad: dict) -> dict:
    """POST [good, bad, good]; the two good ones must be stored and the bad one reported."""
    items = [risk.declaration(1), {**risk.declaration(2), **bad}, risk.declaration(3)]
    response = post(client, auth, items)
    assert response.status_code == 202, response.json
    assert response.json["accepted_ids"] == ["D00001", "D00003"]
    assert response.json["stored"] == 2
    [error] = response.json["errors"]
    assert error["index"] == 1
    return error


@pytest.mark.parametrize(
    "field", ["declaration_id", "site_id", "trader_id", "hs_code", "origin", "currency", "unit"]
)
def test_a_nul_character_in_any_text_field_is_that_items_error(client, auth, risk, engine, field):
    item = risk.declaration(2)
    error = one_bad_among_good(client, auth, risk, {field: f"{item[field]}\x00x"})
    assert (error["field"], error["reason"]) == (field, "must not contain NUL characters")
    assert stored_ids(engine) == ["D00001", "D00003"]


def test_text_that_is_not_valid_unicode_is_that_items_error(risk):
    # The API refuses such a body as a whole; a pulled feed or a file hands items over one by
    # one. A JSON "\ud800" escape decodes to a lone surrogate, which UTF-8 cannot encode.
    items = [risk.declaration(1), risk.declaration(2, trader_id="T\ud800")]
    valid, errors = parse_declarations(items, TimePolicy(), RATES | {"CNY": 1.0})
    assert [d.declaration_id for d in valid] == ["D00001"]
    assert [(e.index, e.field) for e in errors] == [(1, "trader_id")]
    assert "unicode" in errors[0].reason


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"declared_value": 1e308, "currency": "USD"}, "declared_value"),  # inf after x 7.10
        ({"declared_value": 1e15, "currency": "USD"}, "declared_value"),  # 7.1e15 CNY
        ({"value_cny": 1e308}, "value_cny"),
        ({"quantity": 5e-324}, "quantity"),  # unit value overflows
        ({"quantity": 1e13}, "quantity"),
        ({"net_kg": 5e-324, "gross_kg": 5e-324}, "gross_kg"),  # value per kg overflows
        ({"gross_kg": 1e-7, "net_kg": None}, "gross_kg"),
        ({"net_kg": 1e-9}, "net_kg"),
        ({"declared_value": 1e-300}, "declared_value"),  # value per unit underflows
    ],
)
def test_a_number_outside_its_documented_range_is_that_items_error(
    client, auth, risk, engine, bad, field
):
    error = one_bad_among_good(client, auth, risk, bad)
    assert error["field"] == field, error
    assert error["declaration_id"] == "D00002"
    assert stored_ids(engine) == ["D00001", "D00003"]


def test_every_ratio_screening_computes_is_a_normal_float_at_the_corners_of_the_ranges():
    lo_v, hi_v = LIMITS["value_cny"]
    lo_q, hi_q = LIMITS["quantity"]
    lo_k, hi_k = LIMITS["gross_kg"]
    for value in (lo_v, hi_v):
        for quantity in (lo_q, hi_q):
            for kg in (lo_k, hi_k):
                for values in derived_values(value, quantity, kg, kg).values():
                    assert math.isfinite(values) and values >= 2.3e-308


def test_declarations_at_the_extreme_corners_are_stored_and_scored_without_sql_errors(
    client, auth, risk, engine
):
    """30 declarations at the top of the unit-value range build a reference; one at the bottom
    is then scored against it: ratios, logarithms and reason texts stay finite."""
    top = [
        risk.declaration(
            n,
            hs_code="01012100",
            declared_value=1e15,
            currency="CNY",
            quantity=1e-6,
            gross_kg=1e-6,
            net_kg=1e-6,
        )
        for n in range(40)
    ]
    assert post(client, auth, top).status_code == 202
    bottom = risk.declaration(
        100,
        hs_code="01012100",
        declared_value=1e-6,
        currency="CNY",
        quantity=1e12,
        gross_kg=1e12,
        net_kg=1e12,
    )
    response = post(client, auth, [bottom])
    assert response.status_code == 202, response.json
    assert response.json["stored"] == 1
    features = set(risk.flags("D00100"))
    assert {"unit_value", "value_per_kg"} <= features
    amended = {**bottom, "amendment_no": 1, "declared_value": 1e15, "quantity": 1e-6}
    assert post(client, auth, [amended]).json["amended"] == 1


@pytest.mark.parametrize(
    "moment", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "1999-12-31T23:59:59Z"]
)
@pytest.mark.parametrize("field", ["declared_at", "amended_at"])
def test_an_instant_outside_the_representable_range_is_that_items_422(
    client, auth, risk, engine, moment, field
):
    bad = {field: moment, "amendment_no": 1} if field == "amended_at" else {field: moment}
    error = one_bad_among_good(client, auth, risk, bad)
    assert error["field"] == field
    assert stored_ids(engine) == ["D00001", "D00003"]
    only_bad = post(client, auth, [{**risk.declaration(4), **bad}])
    assert only_bad.status_code == 422
    assert only_bad.json["errors"][0]["field"] == field


def test_parse_declaration_never_raises_anything_but_value_error_at_the_time_edges():
    base = {
        "declaration_id": "X",
        "site_id": "5304-SHEKOU",
        "trader_id": "T",
        "hs_code": "85171300",
        "origin": "VN",
        "declared_value": 1,
        "currency": "CNY",
        "quantity": 1,
        "unit": "PCS",
        "gross_kg": 1,
    }
    for moment in ("9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"):
        with pytest.raises(ValueError, match="^declared_at: "):
            parse_declaration(
                {**base, "declared_at": moment}, TimePolicy(), RATES, datetime.now(UTC)
            )
