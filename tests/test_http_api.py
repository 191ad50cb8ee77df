"""quaywatch.http_api: every blueprint parses query arguments, pages and bodies the same way."""

from __future__ import annotations

import pytest

from tests.alerter.helpers import create_channel

SITE = "5304-SHEKOU"
# One GET per blueprint that takes each kind of argument.
WHOLE_NUMBER_ARGS = [
    "/api/v1/rules?limit={}",
    "/api/v1/alerts?rule_id={}",
    "/api/v1/channels?offset={}",
    "/api/v1/deliveries?channel_id={}",
    "/api/v1/risk/queue?rule_id={}",
    "/api/v1/risk/rules?limit={}",
    f"/api/v1/metrics/{SITE}/clearance_time_p90_hours?hours={{}}",
    "/api/v1/lots/LOT-1?visit_no={}",
]


@pytest.mark.parametrize("path", WHOLE_NUMBER_ARGS)
def test_a_digit_int_cannot_read_is_a_400_naming_the_argument_not_a_server_error(
    client, auth, path
):
    # "²".isdigit() is True but int("²") raises: it used to be a 500 on every one of these.
    response = client.get(path.format("%C2%B2"), headers=auth)
    name = path.rsplit("?", 1)[1].split("=")[0]
    assert response.status_code == 400, response.json
    assert response.json["errors"][0]["field"] == name


@pytest.mark.parametrize(
    "path",
    [
        *(p.format("x") for p in WHOLE_NUMBER_ARGS),
        "/api/v1/alerts/history?since=yesterday",
        "/api/v1/deliveries?since=yesterday",
        "/api/v1/risk/queue?min_score=high",
        "/api/v1/risk/queue?reviewed=maybe",
        "/api/v1/forecasts/crossings?hours=x",
        "/api/v1/rules?enabled=yes",
    ],
)
def test_every_bad_query_argument_is_a_400_that_names_it_in_detail_and_errors(client, auth, path):
    response = client.get(path, headers=auth)
    name = path.rsplit("?", 1)[1].split("=")[0]
    assert response.status_code == 400, response.json
    assert response.json["title"] == "Invalid parameter"
    assert response.json["detail"].startswith(f"{name}: ")
    assert [e["field"] for e in response.json["errors"]] == [name]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/rules?limit=",
        "/api/v1/channels?limit=&offset=",
        "/api/v1/risk/queue?limit=&rule_id=",
        "/api/v1/forecasts/crossings?hours=",
        f"/api/v1/metrics/{SITE}/clearance_time_p90_hours?hours=",
    ],
)
def test_an_empty_query_argument_means_its_default(client, auth, path):
    assert client.get(path, headers=auth).status_code == 200


def test_a_delivery_list_whose_last_page_is_full_has_no_next_offset(client, auth, engine):
    for _ in range(3):
        create_channel(engine, "webhook", {"url": "http://127.0.0.1:9/hook"})
    first = client.get("/api/v1/channels?limit=2", headers=auth).json
    assert len(first["items"]) == 2 and first["next_offset"] == 2
    last = client.get("/api/v1/channels?limit=2&offset=2", headers=auth).json
    assert len(last["items"]) == 1 and last["next_offset"] is None
    exact = client.get("/api/v1/channels?limit=3", headers=auth).json
    # The page holds every channel: there is no next page (it used to say next_offset 3).
    assert len(exact["items"]) == 3 and exact["next_offset"] is None


def test_both_page_envelopes_keep_their_shape(client, auth):
    rules = client.get("/api/v1/rules?limit=1", headers=auth).json
    assert set(rules) == {"items", "limit", "offset", "next"}
    channels = client.get("/api/v1/channels?limit=1", headers=auth).json
    assert set(channels) == {"items", "limit", "offset", "next_offset"}
    risk_rules = client.get("/api/v1/risk/rules?limit=1", headers=auth).json
    assert set(risk_rules) == {"items", "limit", "offset", "next_offset"}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("post", "/api/v1/rules", 400),  # the rules API checks rule bodies itself
        ("post", "/api/v1/silences", 422),
        ("post", "/api/v1/risk/rules", 422),
    ],
)
def test_a_json_body_that_is_not_an_object_names_the_body(client, auth, method, path, status):
    response = client.open(path, method=method.upper(), json=[1], headers=auth)
    assert response.status_code == status
    assert response.json["errors"] == [{"field": "body", "reason": "must be a JSON object"}]
