"""quaywatch.http.proposals: the three propose routes (alert rules, risk rules, indicators) read
one body the same way: it may be empty, and an unknown field, a null or non-string comment or
one over 2,000 characters is a 422 naming the field; nothing is cut or coerced. An object that
is already national is a 409 on each."""

from __future__ import annotations

import pytest
from alert_rules import threshold_spec
from sqlalchemy import text

from tests.collector.helpers import RIVER_21_OVER_48H
from tests.conftest import make_token


def bearer(engine, node):
    return {"Authorization": f"Bearer {make_token(engine, 'admin', node)}"}


def alert_rule(client, headers):
    spec = threshold_spec(name="nanjing_slow", node_id="2300", threshold=30)
    return (
        f"/api/v1/rules/{client.post('/api/v1/rules', json=spec, headers=headers).json['rule_id']}"
    )


def risk_rule(client, headers):
    rule = {"name": "handsets", "conditions": {"hs_prefixes": ["8517"]}}
    created = client.post("/api/v1/risk/rules", json=rule, headers=headers)
    return f"/api/v1/risk/rules/{created.json['rule_id']}"


def indicator(client, headers):
    spec = {**RIVER_21_OVER_48H, "code": "n2300__haz21_river_over_48h"}
    return f"/api/v1/indicators/{client.post('/api/v1/indicators', json=spec, headers=headers).json['code']}"


OBJECTS = pytest.mark.parametrize("create", [alert_rule, risk_rule, indicator])


TABLES = {"rules": ("alert_rule", "rule_id"), "risk/rules": ("risk_rule", "rule_id")}


def stored_comment(engine, path):
    """The proposal comment the database holds for the object at ``path``."""
    prefix, key = path.removeprefix("/api/v1/").rsplit("/", 1)
    table, column = TABLES.get(prefix, ("indicator", "code"))
    sql = f"SELECT proposal_comment FROM {table} WHERE {column}::text = :k"  # fixed names only
    with engine.connect() as conn:
        return conn.execute(text(sql), {"k": key}).scalar()


@OBJECTS
@pytest.mark.parametrize(
    "body, field",
    [
        ({"comment": None}, "comment"),
        ({"comment": 7}, "comment"),
        ({"comment": {"nested": "x"}}, "comment"),
        ({"comment": "x" * 2001}, "comment"),
        ({"comment": "ok", "reason": "unknown"}, "reason"),
        ([{"comment": "ok"}], "body"),
    ],
)
def test_a_bad_propose_body_is_a_422_naming_the_field_and_proposes_nothing(
    client, engine, create, body, field
):
    nanjing = bearer(engine, "2300")
    path = create(client, nanjing)
    response = client.post(f"{path}/propose", json=body, headers=nanjing)
    assert response.status_code == 422, response.json
    assert response.json["errors"][0]["field"] == field
    assert client.get(path, headers=nanjing).json["proposal_status"] == "none"


@OBJECTS
def test_an_empty_body_proposes(client, engine, create):
    nanjing = bearer(engine, "2300")
    path = create(client, nanjing)
    assert client.post(f"{path}/propose", headers=nanjing).status_code == 200
    assert client.get(path, headers=nanjing).json["proposal_status"] == "proposed"
    assert stored_comment(engine, path) == ""


@OBJECTS
def test_a_comment_of_2000_characters_is_kept_whole(client, engine, create):
    nanjing = bearer(engine, "2300")
    path = create(client, nanjing)
    comment = "批" * 1999 + "x"
    assert (
        client.post(f"{path}/propose", json={"comment": comment}, headers=nanjing).status_code
        == 200
    )
    assert stored_comment(engine, path) == comment


@OBJECTS
def test_a_published_object_is_national_and_cannot_be_proposed_again(client, engine, create):
    nanjing, national = bearer(engine, "2300"), bearer(engine, "CN")
    path = create(client, nanjing)
    client.post(f"{path}/propose", headers=nanjing)
    assert client.post(f"{path}/publish", headers=national).status_code == 200
    again = client.post(f"{path}/propose", headers=national)
    assert again.status_code == 409 and again.json["title"] == "Already national"
    assert again.json["detail"].endswith("is already at national scope")
