"""Strict request bodies (quaywatch.http.request_body): what the client sent is taken exactly as sent
or refused with a 400 naming why, on every route; 404s name nothing the client did not ask for."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from conftest import make_token
from quaywatch.errors import ApiError
from quaywatch.http.request_body import (
    MAX_DEPTH,
    BodyError,
    LineError,
    batch_items,
    check_depth,
    json_document,
    loads,
)
from tests.api_objects import valid_bodies

NOW = datetime.now(UTC).replace(microsecond=0)
NDJSON = {"Content-Type": "application/x-ndjson"}
DEEP_ARRAY = "[" * 10_000 + "]" * 10_000
DEEP_OBJECT = '{"a":' * 10_000 + "1" + "}" * 10_000


def event(n: int, **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "event_id": f"ev-{n}",
        "kind": "arrived",
        "occurred_at": (NOW - timedelta(hours=10) + timedelta(minutes=n)).isoformat(),
        "site_id": "5304-SHEKOU",
        "lot_id": f"lot-{n}",
    }
    body.update(overrides)
    return body


def reason(text_body: str) -> str:
    with pytest.raises(BodyError) as caught:
        loads(text_body)
    return caught.value.reason


# The decoder itself.


def test_nesting_up_to_the_limit_is_accepted_and_one_more_level_is_not():
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    assert reason("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)) == (
        f"nested deeper than {MAX_DEPTH} levels"
    )


@pytest.mark.parametrize("document", [DEEP_ARRAY, DEEP_OBJECT, "[" * 10_000])
def test_a_document_nested_10000_levels_deep_is_refused_without_recursing(document):
    assert reason(document) == f"nested deeper than {MAX_DEPTH} levels"


def test_brackets_inside_strings_do_not_count_towards_the_depth():
    document = json.dumps(["[" * 500, "{" * 500, '\\"[[[', "\\" * 3])
    assert loads(document) == ["[" * 500, "{" * 500, '\\"[[[', "\\" * 3]
    check_depth('"\\"' + "[" * 100 + '"')


def test_a_key_given_twice_in_one_object_is_refused():
    assert reason('{"kind": "arrived", "kind": "removed"}') == (
        "duplicate key 'kind' in one object"
    )
    assert loads('[{"kind": "arrived"}, {"kind": "removed"}]')[1] == {"kind": "removed"}


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json_numbers(literal):
    assert reason(f'{{"threshold": {literal}}}') == f"{literal} is not a JSON number"


def test_a_number_beyond_the_float_range_is_refused_not_turned_into_infinity():
    assert reason("[1e400]") == "number 1e400 is out of range"
    assert reason("-1e309") == "number -1e309 is out of range"
    assert loads("[1e308, -1e308, 5e-324]") == [1e308, -1e308, 5e-324]


def test_an_integer_past_the_int_string_limit_is_refused_and_a_long_one_below_is_kept():
    assert reason("9" * 5000) == "a number has more than 4300 digits"
    assert loads(str(2**64)) == 2**64


def test_a_lone_surrogate_escape_is_refused_but_a_surrogate_pair_is_one_character():
    assert "lone UTF-16 surrogate" in reason('{"lot_id": "\\ud800"}')
    assert "lone UTF-16 surrogate" in reason('{"\\udfff": 1}')
    assert loads('"\\ud83d\\ude00"') == "\U0001f600"


def test_invalid_utf8_is_refused_naming_the_byte_offset():
    with pytest.raises(ApiError) as caught:
        json_document(b'{"lot_id": "caf\xe9"}')
    assert caught.value.status == 400
    assert caught.value.detail == "body: not valid UTF-8 at byte 15"


def test_a_bad_ndjson_line_is_that_items_error_and_the_other_lines_are_kept():
    body = b'{"a": 1}\n\n{"b": "\xff"}\n' + DEEP_ARRAY.encode() + b'\n{"c": NaN}\r\n{"d": 4}\r\n'
    items, errors = batch_items(body, "application/x-ndjson")
    assert items == [{"a": 1}, None, None, None, {"d": 4}]
    assert errors == [
        LineError(1, "not valid UTF-8 at byte 17"),
        LineError(2, f"nested deeper than {MAX_DEPTH} levels"),
        LineError(3, "NaN is not a JSON number"),
    ]


def test_ndjson_lines_end_only_at_a_line_feed():
    body = '{"lot_id": "a\u2028b\x85c"}\n{"lot_id": "d"}'.encode()
    items, errors = batch_items(body, "application/x-ndjson")
    assert items == [{"lot_id": "a\u2028b\x85c"}, {"lot_id": "d"}] and errors == []


# Over HTTP: every JSON-body route refuses the same bodies the same way.

JSON_ROUTES = [
    ("post", "/api/v1/events"),
    ("post", "/api/v1/declarations"),
    ("post", "/api/v1/rules"),
    ("post", "/api/v1/channels"),
    ("post", "/api/v1/silences"),
    ("post", "/api/v1/risk/rules"),
    ("put", "/api/v1/rules/1"),
    ("patch", "/api/v1/channels/1"),
]


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
def test_a_body_nested_deeper_than_the_limit_is_a_400_naming_the_depth(client, auth, method, path):
    for document in (DEEP_ARRAY, DEEP_OBJECT):
        response = getattr(client, method)(
            path, data=document, content_type="application/json", headers=auth
        )
        assert response.status_code == 400, response.json
        assert response.mimetype == "application/problem+json"
        assert response.json["detail"] == f"body: nested deeper than {MAX_DEPTH} levels"


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
def test_duplicate_keys_nan_and_invalid_utf8_are_400s_on_every_json_route(
    client, auth, method, path
):
    for body, detail in [
        (b'{"name": "a", "name": "b"}', "body: duplicate key 'name' in one object"),
        (b'[{"kind": "arrived", "kind": "removed"}]', "body: duplicate key 'kind' in one object"),
        (b'{"threshold": NaN}', "body: NaN is not a JSON number"),
        (b'{"name": "\xc3("}', "body: not valid UTF-8 at byte 10"),
    ]:
        response = getattr(client, method)(
            path, data=body, content_type="application/json", headers=auth
        )
        assert (response.status_code, response.json["detail"]) == (400, detail)


def test_a_json_array_of_events_with_invalid_utf8_stores_nothing(client, auth, engine):
    body = json.dumps([event(1), event(2, lot_id="LOT-X")]).encode().replace(b"LOT-X", b"LOT-\xff")
    response = client.post(
        "/api/v1/events", data=body, content_type="application/json", headers=auth
    )
    assert response.status_code == 400
    assert response.json["detail"].startswith("body: not valid UTF-8 at byte ")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM cargo_event")).scalar() == 0
        assert (
            conn.execute(text("SELECT count(*) FROM lot WHERE lot_id LIKE '%\ufffd%'")).scalar()
            == 0
        )


def test_in_ndjson_one_hostile_line_is_its_own_error_and_the_good_lines_are_stored(
    client, auth, engine
):
    lines = [
        json.dumps(event(1)).encode(),
        DEEP_ARRAY.encode(),
        json.dumps(event(3, lot_id="LOT-X")).encode().replace(b"LOT-X", b"LOT-\xff"),
        b'{"event_id": "ev-4", "kind": "arrived", "kind": "removed"}',
        json.dumps(event(5)).replace('"ev-5"', '"ev-5", "teu": NaN').encode(),
        json.dumps(event(6)).encode(),
    ]
    response = client.post("/api/v1/events", data=b"\n".join(lines), headers={**auth, **NDJSON})
    assert response.status_code == 202, response.json
    assert response.json["accepted_ids"] == ["ev-1", "ev-6"]
    errors = {e["index"]: (e["field"], e["reason"]) for e in response.json["errors"]}
    assert errors[1] == ("item", f"invalid JSON: nested deeper than {MAX_DEPTH} levels")
    assert errors[2][1].startswith("invalid JSON: not valid UTF-8 at byte ")
    assert errors[3] == ("item", "invalid JSON: duplicate key 'kind' in one object")
    assert errors[4] == ("item", "invalid JSON: NaN is not a JSON number")
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT lot_id FROM cargo_event ORDER BY lot_id")).scalars()
        assert list(stored) == ["lot-1", "lot-6"]


def declaration(n: int) -> dict[str, object]:
    """The API's valid declaration, numbered n and declared n minutes after the others."""
    [body] = valid_bodies()["/api/v1/declarations"]
    declared_at = NOW - timedelta(hours=20) + timedelta(minutes=n)
    return {**body, "declaration_id": f"D{n:05d}", "declared_at": declared_at.isoformat()}


def test_in_ndjson_declarations_a_deep_line_loses_only_itself(client, auth):
    body = "\n".join([json.dumps(declaration(1)), DEEP_OBJECT, json.dumps(declaration(3))])
    response = client.post("/api/v1/declarations", data=body, headers={**auth, **NDJSON})
    assert response.status_code == 202, response.json
    assert response.json["accepted_ids"] == ["D00001", "D00003"]
    assert response.json["errors"][0]["index"] == 1


# 404s say only that what the client asked for was not found.


def test_a_lot_in_another_customs_is_a_404_that_does_not_name_its_site(client, auth, engine):
    response = client.post(
        "/api/v1/events", json=[event(1, site_id="5301-HUANGGANG", lot_id="LOT-SZ")], headers=auth
    )
    assert response.status_code == 202, response.json
    shanghai = {"Authorization": f"Bearer {make_token(engine, 'viewer', '2200')}"}
    foreign = client.get("/api/v1/lots/LOT-SZ", headers=shanghai)
    absent = client.get("/api/v1/lots/LOT-NONE", headers=shanghai)
    assert foreign.status_code == absent.status_code == 404
    assert foreign.json["detail"] == "no lot 'LOT-SZ'"
    assert absent.json["detail"] == "no lot 'LOT-NONE'"
    assert client.get("/api/v1/lots/LOT-SZ", headers=auth).json["site_id"] == "5301-HUANGGANG"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nodes/{node}",
        "/api/v1/metrics/{node}/dwell_hours",
        "/api/v1/forecasts/{node}/dwell_hours",
        "/api/v1/sites/{node}/effective-rules",
    ],
)
def test_a_node_outside_the_subtree_is_a_404_like_an_absent_one(client, engine, path):
    shanghai = {"Authorization": f"Bearer {make_token(engine, 'viewer', '2200')}"}
    foreign = client.get(path.format(node="5301-HUANGGANG"), headers=shanghai)
    absent = client.get(path.format(node="9999-NOWHERE"), headers=shanghai)
    assert foreign.status_code == absent.status_code == 404
    assert foreign.json["detail"].replace("5301-HUANGGANG", "X") == (
        absent.json["detail"].replace("9999-NOWHERE", "X")
    )
