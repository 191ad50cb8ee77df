from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alert_rules import add_rule, put_value, threshold_spec

from alerter.evaluation.step import evaluate_all
from conftest import make_token

CLEARANCE = "clearance_time_p90_hours"


def bearer(engine, role="admin", node="CN"):
    return {"Authorization": f"Bearer {make_token(engine, role, node)}"}


@pytest.fixture
def firing(engine, settings):
    """Live alerts: Shekou (Shenzhen) critical-level breach, Yangshan (Shanghai) breach."""
    now = datetime.now(UTC)
    add_rule(engine, threshold_spec(annotations={"summary": "{{ site_name }} p90 {{ value }} h"}))
    add_rule(
        engine,
        threshold_spec(
            name="overdue", indicator="hazardous_overdue", threshold=0, severity="critical"
        ),
    )
    put_value(engine, "5304-SHEKOU", CLEARANCE, 50, now)
    put_value(engine, "2201-YANGSHAN", CLEARANCE, 60, now)
    put_value(engine, "5304-SHEKOU", "hazardous_overdue", 2, now)
    evaluate_all(engine, settings, now)
    return now


def test_alerts_are_listed_with_state_labels_and_rendered_summary(client, auth, firing):
    items = client.get("/api/v1/alerts", headers=auth).json["items"]
    assert len(items) == 3
    yangshan = next(i for i in items if i["node_id"] == "2201-YANGSHAN")
    assert yangshan["state"] == "Firing" and yangshan["last_value"] == 60
    assert yangshan["annotations"]["summary"] == "洋山深水港 p90 60.0 h"
    assert yangshan["labels"]["alertname"] == "clearance_slow"


def test_alerts_filter_by_state_severity_and_node_subtree(client, auth, firing):
    def names(query):
        items = client.get(f"/api/v1/alerts?{query}", headers=auth).json["items"]
        return sorted((i["node_id"], i["labels"]["alertname"]) for i in items)

    assert names("severity=critical") == [("5304-SHEKOU", "overdue")]
    assert names("node=2200") == [("2201-YANGSHAN", "clearance_slow")]
    assert names("state=Pending") == []
    bad = client.get("/api/v1/alerts?state=Burning", headers=auth)
    assert bad.status_code == 400 and bad.json["errors"][0]["field"] == "state"


def test_a_token_sees_only_the_alerts_of_its_subtree(client, engine, firing):
    items = client.get("/api/v1/alerts", headers=bearer(engine, "viewer", "5300")).json["items"]
    assert {i["node_id"] for i in items} == {"5304-SHEKOU"}
    shanghai_only = client.get(
        "/api/v1/alerts?node=2200", headers=bearer(engine, "viewer", "5300")
    ).json["items"]
    assert shanghai_only == []


def test_an_operator_acknowledges_an_alert_and_the_history_shows_it(client, engine, firing):
    operator = bearer(engine, "operator", "5300")
    alert = client.get("/api/v1/alerts?severity=critical", headers=operator).json["items"][0]
    response = client.post(
        f"/api/v1/alerts/{alert['fingerprint']}/ack",
        json={"comment": "moving the lot"},
        headers=operator,
    )
    assert response.status_code == 200
    assert response.json["acknowledged_by"] == "test operator@5300"
    again = client.get("/api/v1/alerts?severity=critical", headers=operator).json["items"][0]
    assert again["acknowledged_by"] == "test operator@5300"
    assert again["ack_comment"] == "moving the lot"
    trail = client.get(
        f"/api/v1/alerts/history?fingerprint={alert['fingerprint']}", headers=operator
    ).json["items"]
    assert trail[0]["reason"] == "acknowledged by test operator@5300: moving the lot"
    assert trail[1]["to_state"] == "Firing"


def test_acknowledging_needs_alerts_write_and_the_alerts_subtree(client, engine, firing):
    alert = client.get("/api/v1/alerts?node=2200", headers=bearer(engine)).json["items"][0]
    path = f"/api/v1/alerts/{alert['fingerprint']}/ack"
    assert client.post(path, headers=bearer(engine, "viewer", "CN")).status_code == 403
    assert client.post(path, headers=bearer(engine, "operator", "5300")).status_code == 404
    assert client.post("/api/v1/alerts/nope/ack", headers=bearer(engine)).status_code == 404


def test_alert_history_is_paginated_and_filtered(client, auth, firing):
    first = client.get("/api/v1/alerts/history?limit=2&state=Firing", headers=auth).json
    assert len(first["items"]) == 2 and first["next"]
    rest = client.get(first["next"], headers=auth).json
    assert len(rest["items"]) == 1 and rest["next"] is None
    since = (firing + timedelta(minutes=1)).isoformat()
    later = client.get("/api/v1/alerts/history", query_string={"since": since}, headers=auth)
    assert later.json["items"] == []


def test_a_preview_renders_what_a_draft_rule_would_produce_without_sending(client, engine, auth):
    put_value(engine, "5304-SHEKOU", CLEARANCE, 50, datetime.now(UTC))
    put_value(engine, "5304-CHIWAN", CLEARANCE, 30, datetime.now(UTC))
    draft = threshold_spec(
        name="draft",
        threshold=40,
        **{"for": "10m"},
        annotations={"summary": "{{ site_name }}: {{ value }} > {{ threshold }}"},
    )
    body = client.post("/api/v1/alerts/preview", json={"rule": draft}, headers=auth).json
    assert body["evaluated"] == 2 and body["breaching"] == 1
    [instance] = body["instances"]
    assert instance["state"] == "Pending" and not instance["would_notify"]
    assert instance["summary"] == "蛇口集装箱码头: 50.0 > 40"
    stored = client.get("/api/v1/rules", headers=auth).json["items"]
    assert stored == []
    alerts = client.get("/api/v1/alerts", headers=auth).json["items"]
    assert alerts == []


def test_a_preview_of_an_invalid_draft_names_the_field(client, auth):
    response = client.post(
        "/api/v1/alerts/preview", json={"rule": threshold_spec(threshold="x")}, headers=auth
    )
    assert response.status_code == 422 and response.json["errors"][0]["field"] == "threshold"
    missing = client.post("/api/v1/alerts/preview", json={}, headers=auth)
    assert missing.status_code == 422 and missing.json["errors"][0]["field"] == "rule"


def test_a_preview_of_a_stored_rule_applies_its_overrides(client, engine, auth):
    now = datetime.now(UTC)
    rule_id = client.post("/api/v1/rules", json=threshold_spec(), headers=auth).json["rule_id"]
    client.put(f"/api/v1/rules/{rule_id}/overrides/5304", json={"threshold": 30}, headers=auth)
    put_value(engine, "5304-SHEKOU", CLEARANCE, 35, now)
    put_value(engine, "2201-YANGSHAN", CLEARANCE, 35, now)
    body = client.post("/api/v1/alerts/preview", json={"rule_id": rule_id}, headers=auth).json
    assert [i["node_id"] for i in body["instances"]] == ["5304-SHEKOU"]
    assert body["instances"][0]["would_notify"]
