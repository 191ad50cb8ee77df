from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from alert_rules import add_rule, put_value, threshold_spec
from sqlalchemy import text

from alerter.evaluation.step import evaluate_all
from conftest import make_token
from tests.alerter.helpers import create_channel

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


# --- why an alert is withheld: Alertmanager's status model, from the dispatcher's stages ------

NOTHING_WITHHELD = {
    "state": "active",
    "silencedBy": [],
    "inhibitedBy": [],
    "mutedBy": [],
    "acknowledged": None,
}


def _shekou(client, auth):
    items = client.get("/api/v1/alerts?node=5304-SHEKOU", headers=auth).json["items"]
    return next(i for i in items if i["labels"]["alertname"] == "clearance_slow")


def _silence(client, auth, alertname="clearance_slow"):
    body = {
        "matchers": [{"name": "alertname", "value": alertname}],
        "ends_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        "comment": "berth works",
    }
    response = client.post("/api/v1/silences", json=body, headers=auth)
    assert response.status_code == 201, response.json
    return response.json["silence_id"]


def test_every_listed_alert_has_alertmanagers_status_model(client, auth, firing):
    items = client.get("/api/v1/alerts", headers=auth).json["items"]

    assert [i["status"] for i in items] == [NOTHING_WITHHELD] * 3


def test_a_silenced_alert_is_suppressed_and_names_the_silence(client, auth, firing):
    silence_id = _silence(client, auth)

    shekou = _shekou(client, auth)
    assert shekou["status"] == {
        **NOTHING_WITHHELD, "state": "suppressed", "silencedBy": [silence_id]
    }  # fmt: skip
    body = client.post("/api/v1/alerts/preview", json={"rule": threshold_spec()}, headers=auth)
    assert body.status_code == 200
    withheld = [i for i in body.json["instances"] if i["state"] == "Firing"]
    assert withheld and all(not i["would_notify"] for i in withheld)
    assert {i["withheld"] for i in withheld} == {f"silenced by {silence_id}"}


def test_a_feed_silent_alert_inhibits_the_threshold_alerts_of_its_node(
    client, engine, auth, firing
):
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO active_alert (fingerprint, status, labels, node_id, seq, updated_at)"
                " VALUES ('feedsilent', 'firing', CAST(:labels AS jsonb), '5304-SHEKOU', 1,"
                " now())"
            ),
            {"labels": json.dumps({"kind": "no_data", "node": "5304-SHEKOU"})},
        )

    shekou = _shekou(client, auth)
    assert shekou["status"]["inhibitedBy"] == ["feedsilent"]
    assert shekou["status"]["state"] == "suppressed"
    body = client.post("/api/v1/alerts/preview", json={"rule": threshold_spec()}, headers=auth)
    [at_shekou] = [i for i in body.json["instances"] if i["node_id"] == "5304-SHEKOU"]
    assert not at_shekou["would_notify"]
    assert at_shekou["withheld"] == "inhibited by feedsilent"
    [at_yangshan] = [i for i in body.json["instances"] if i["node_id"] == "2201-YANGSHAN"]
    assert at_yangshan["would_notify"] and at_yangshan["withheld"] is None


def test_a_mute_interval_on_the_alerts_channel_is_named(client, engine, auth, firing):
    always = {"name": "always", "intervals": [{}]}
    interval_id = client.post("/api/v1/mute-intervals", json=always, headers=auth).json[
        "mute_interval_id"
    ]
    channel_id = create_channel(engine, "webhook", {"url": "https://hooks.example/qw"})
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO channel_mute_interval (channel_id, mute_interval_id) VALUES (:c, :m)"
            ),
            {"c": channel_id, "m": interval_id},
        )

    assert _shekou(client, auth)["status"]["mutedBy"] == ["always"]
    body = client.post("/api/v1/alerts/preview", json={"rule": threshold_spec()}, headers=auth)
    assert {i["withheld"] for i in body.json["instances"]} == {"mute interval always"}


def test_an_ack_shows_who_and_until_when_and_can_be_withdrawn(client, engine, firing):
    operator = bearer(engine, "operator", "5300")
    fp = _shekou(client, operator)["fingerprint"]

    acked = client.post(f"/api/v1/alerts/{fp}/ack", json={"duration": "2h"}, headers=operator)

    assert acked.status_code == 200
    until = datetime.fromisoformat(acked.json["acknowledged_until"])
    assert timedelta(minutes=119) < until - datetime.now(UTC) <= timedelta(hours=2)
    status = _shekou(client, operator)["status"]
    assert status["state"] == "active"  # an ack holds back repeats, not the alert
    assert status["acknowledged"] == {"by": "test operator@5300", "until": until.isoformat()}

    withdrawn = client.delete(f"/api/v1/alerts/{fp}/ack", headers=operator)
    assert withdrawn.status_code == 200 and withdrawn.json["acknowledged"] is None
    assert _shekou(client, operator)["status"]["acknowledged"] is None
    trail = client.get(f"/api/v1/alerts/history?fingerprint={fp}", headers=operator).json
    assert trail["items"][0]["reason"] == "acknowledgement withdrawn by test operator@5300"


def test_withdrawing_an_ack_needs_alerts_write_and_the_alerts_subtree(client, engine, firing):
    fp = _shekou(client, bearer(engine))["fingerprint"]
    path = f"/api/v1/alerts/{fp}/ack"
    assert client.delete(path, headers=bearer(engine, "viewer", "CN")).status_code == 403
    assert client.delete(path, headers=bearer(engine, "operator", "2200")).status_code == 404
    assert client.delete("/api/v1/alerts/nope/ack", headers=bearer(engine)).status_code == 404
