from __future__ import annotations

from alert_rules import NOW, instances, put_value, threshold_spec

from alerter.evaluation.step import evaluate_all
from conftest import make_token


def bearer(engine, role="admin", node="CN"):
    return {"Authorization": f"Bearer {make_token(engine, role, node)}"}


def put_override(client, engine, rule, node, body):
    """PUT an override of `rule` at `node`, as an admin of customs 5300."""
    url = f"/api/v1/rules/{rule['rule_id']}/overrides/{node}"
    return client.put(url, json=body, headers=bearer(engine, "admin", "5300"))


def test_an_admin_creates_reads_updates_and_deletes_a_rule(client, auth):
    created = client.post("/api/v1/rules", json=threshold_spec(**{"for": "10m"}), headers=auth)
    assert created.status_code == 201
    rule_id = created.json["rule_id"]
    assert created.headers["Location"] == f"/api/v1/rules/{rule_id}"
    assert created.json["for"] == "10m" and created.json["version"] == 1
    got = client.get(f"/api/v1/rules/{rule_id}", headers=auth)
    assert got.json["editable"] and got.headers["ETag"] == '"1"'
    changed = client.put(
        f"/api/v1/rules/{rule_id}",
        json=threshold_spec(threshold=40),
        headers={**auth, "If-Match": '"1"'},
    )
    assert changed.status_code == 200
    assert (changed.json["threshold"], changed.json["version"]) == (40, 2)
    assert client.delete(f"/api/v1/rules/{rule_id}", headers=auth).status_code == 204
    assert client.get(f"/api/v1/rules/{rule_id}", headers=auth).status_code == 404


def test_a_validation_error_is_problem_json_naming_each_field(client, auth):
    response = client.post(
        "/api/v1/rules", headers=auth, json=threshold_spec(operator="=>", recovery_threshold="low")
    )
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    fields = {e["field"]: e["reason"] for e in response.json["errors"]}
    assert set(fields) == {"operator", "recovery_threshold"}
    assert "operator" in response.json["detail"]


def test_a_recovery_on_the_wrong_side_is_refused_by_field(client, auth):
    response = client.post(
        "/api/v1/rules", headers=auth, json=threshold_spec(recovery_threshold=50)
    )
    assert response.json["errors"] == [
        {"field": "recovery_threshold", "reason": "must be at or below threshold 48"}
    ]


def test_a_rule_name_is_unique(client, auth, national_rule):
    response = client.post("/api/v1/rules", json=threshold_spec(), headers=auth)
    assert response.status_code == 409
    assert response.json["errors"][0]["field"] == "name"


def test_a_stale_if_match_is_refused(client, auth, national_rule):
    response = client.put(
        f"/api/v1/rules/{national_rule['rule_id']}",
        json=threshold_spec(),
        headers={**auth, "If-Match": '"7"'},
    )
    assert response.status_code == 412


def test_a_viewer_reads_but_cannot_write_rules(client, engine, national_rule):
    viewer = bearer(engine, "viewer")
    assert client.get("/api/v1/rules", headers=viewer).status_code == 200
    response = client.post("/api/v1/rules", json=threshold_spec(name="x"), headers=viewer)
    assert response.status_code == 403 and "rules:write" in response.json["detail"]


def test_without_a_token_the_rules_api_answers_401(client):
    assert client.get("/api/v1/rules").status_code == 401


def test_a_customs_admin_sees_a_national_rule_but_cannot_edit_it(client, engine, national_rule):
    shenzhen = bearer(engine, "admin", "5300")
    rule_id = national_rule["rule_id"]
    got = client.get(f"/api/v1/rules/{rule_id}", headers=shenzhen)
    assert got.status_code == 200 and got.json["editable"] is False
    edit = client.put(
        f"/api/v1/rules/{rule_id}", json=threshold_spec(threshold=1), headers=shenzhen
    )
    assert edit.status_code == 403
    assert f"/rules/{rule_id}/overrides/5300" in edit.json["detail"]
    assert client.delete(f"/api/v1/rules/{rule_id}", headers=shenzhen).status_code == 403


def test_a_customs_admin_cannot_see_another_customs_rule(client, engine, shanghai_rule):
    shenzhen = bearer(engine, "admin", "5300")
    rule_id = shanghai_rule["rule_id"]
    assert client.get(f"/api/v1/rules/{rule_id}", headers=shenzhen).status_code == 404
    assert (
        client.put(
            f"/api/v1/rules/{rule_id}", json=threshold_spec(name="shanghai_slow"), headers=shenzhen
        ).status_code
        == 404
    )
    listed = client.get("/api/v1/rules", headers=shenzhen).json["items"]
    assert rule_id not in [r["rule_id"] for r in listed]


def test_the_national_centre_sees_and_edits_every_rule(client, auth, national_rule, shanghai_rule):
    listed = client.get("/api/v1/rules", headers=auth).json["items"]
    assert {r["rule_id"] for r in listed} == {national_rule["rule_id"], shanghai_rule["rule_id"]}
    assert all(r["editable"] for r in listed)


def test_a_token_cannot_create_a_rule_outside_its_subtree(client, engine):
    shenzhen = bearer(engine, "admin", "5300")
    for node in ("2200", "CN"):
        response = client.post("/api/v1/rules", json=threshold_spec(node_id=node), headers=shenzhen)
        assert response.status_code == 403
        assert response.json["errors"][0]["field"] == "node_id"


def test_a_rule_without_a_node_belongs_to_the_tokens_node(client, engine):
    spec = threshold_spec()
    del spec["node_id"]
    created = client.post("/api/v1/rules", json=spec, headers=bearer(engine, "admin", "5304"))
    assert created.json["node_id"] == "5304"


def test_a_rule_level_above_its_node_is_refused(client, auth):
    response = client.post(
        "/api/v1/rules", json=threshold_spec(node_id="5304", level="customs"), headers=auth
    )
    assert response.status_code == 422 and response.json["errors"][0]["field"] == "level"


def test_rule_lists_are_paginated_with_a_next_link(client, auth):
    for n in range(5):
        client.post("/api/v1/rules", json=threshold_spec(name=f"r{n}"), headers=auth)
    first = client.get("/api/v1/rules?limit=2&kind=threshold", headers=auth).json
    assert [r["name"] for r in first["items"]] == ["r0", "r1"]
    assert first["next"] == "/api/v1/rules?limit=2&kind=threshold&offset=2"
    last = client.get("/api/v1/rules?limit=2&offset=4", headers=auth).json
    assert [r["name"] for r in last["items"]] == ["r4"] and last["next"] is None
    bad = client.get("/api/v1/rules?limit=0", headers=auth)
    assert bad.status_code == 400 and bad.json["errors"][0]["field"] == "limit"


def test_a_customs_admin_tightens_a_national_threshold_for_its_subtree(
    client, engine, settings, national_rule
):
    response = put_override(client, engine, national_rule, "5300", {"threshold": 36})
    assert response.status_code == 200
    assert response.json["overrides"][0]["threshold"] == 36
    put_value(engine, "5304-SHEKOU", "clearance_time_p90_hours", 40)
    put_value(engine, "2201-YANGSHAN", "clearance_time_p90_hours", 40)
    evaluate_all(engine, settings, NOW)
    assert [i["node_id"] for i in instances(engine)] == ["5304-SHEKOU"]


def test_a_looser_override_is_refused_with_the_reason(client, engine, national_rule):
    response = put_override(client, engine, national_rule, "5300", {"threshold": 60})
    assert response.status_code == 422
    [error] = response.json["errors"]
    assert error["field"] == "threshold"
    assert "policy tighten_only at CN allows only values at or below 48" in error["reason"]


def test_an_override_outside_the_tokens_subtree_is_forbidden(client, engine, national_rule):
    response = put_override(client, engine, national_rule, "2200", {"threshold": 30})
    assert response.status_code == 403


def test_an_override_body_names_its_bad_field(client, engine, national_rule):
    response = put_override(client, engine, national_rule, "5300", {"threshold": "low"})
    assert response.status_code == 422 and response.json["errors"][0]["field"] == "threshold"


def test_effective_rules_explain_which_node_wins_and_which_override_was_refused(
    client, engine, auth, national_rule
):
    rule_id = national_rule["rule_id"]
    office = bearer(engine, "admin", "5304")
    assert (
        client.put(
            f"/api/v1/rules/{rule_id}/overrides/5304", json={"threshold": 40}, headers=office
        ).status_code
        == 200
    )
    # Shenzhen customs tightens later: the office's 40 is now looser than what it inherits.
    assert (
        client.put(
            f"/api/v1/rules/{rule_id}/overrides/5300",
            json={"threshold": 36},
            headers=bearer(engine, "admin", "5300"),
        ).status_code
        == 200
    )
    body = client.get("/api/v1/sites/5304-SHEKOU/effective-rules", headers=office).json
    assert body["path"] == ["CN", "5300", "5304", "5304-SHEKOU"]
    [item] = body["items"]
    assert (item["value"], item["winning_node_id"], item["recovery_threshold"]) == (
        36,
        "5300",
        None,
    )
    assert [(s["node_id"], s["outcome"]) for s in item["chain"]] == [
        ("CN", "base"),
        ("5300", "accepted"),
        ("5304", "refused"),
    ]
    assert "at or below 36" in item["chain"][2]["reason"]
    assert item["reason"].startswith("threshold 36 from 5300 (深圳海关); override refused at 5304")
    assert item["reason"].endswith("5304-SHEKOU may tighten it (override with a stricter value)")
    elsewhere = client.get("/api/v1/sites/2201-YANGSHAN/effective-rules", headers=auth).json
    assert elsewhere["items"][0]["value"] == 48


def test_effective_rules_outside_the_subtree_are_not_found(client, engine, national_rule):
    response = client.get(
        "/api/v1/sites/2201-YANGSHAN/effective-rules", headers=bearer(engine, "viewer", "5300")
    )
    assert response.status_code == 404


def test_an_office_rule_is_proposed_and_published_nationwide(client, engine, settings, auth):
    office = bearer(engine, "admin", "5304")
    spec = threshold_spec(name="shekou_discovery", node_id="5304", threshold=20)
    rule_id = client.post("/api/v1/rules", json=spec, headers=office).json["rule_id"]
    proposed = client.post(
        f"/api/v1/rules/{rule_id}/propose", json={"comment": "caught smuggling"}, headers=office
    )
    assert proposed.json["proposal_status"] == "proposed"
    # Only a national admin publishes: the office, its customs and a national operator may not.
    others = [office, bearer(engine, "admin", "5300"), bearer(engine, "operator", "CN")]
    publish = f"/api/v1/rules/{rule_id}/publish"
    assert [client.post(publish, headers=h).status_code for h in others] == [403, 403, 403]
    published = client.post(f"/api/v1/rules/{rule_id}/publish", json={}, headers=auth)
    assert published.status_code == 200
    body = published.json
    assert (body["node_id"], body["origin_node_id"], body["proposal_status"]) == (
        "CN",
        "5304",
        "published",
    )
    put_value(engine, "2201-YANGSHAN", "clearance_time_p90_hours", 25)
    evaluate_all(engine, settings, NOW)
    assert [i["node_id"] for i in instances(engine)] == ["2201-YANGSHAN"]
    audit = client.get(f"/api/v1/audit?object_type=rule&object_id={rule_id}", headers=office).json
    assert [e["action"] for e in audit["items"]] == ["publish", "propose", "create"]
    assert audit["items"][0]["actor"] == "test admin@CN"
    assert audit["items"][0]["before"]["node_id"] == "5304"
    assert audit["items"][0]["after"]["node_id"] == "CN"


def test_publishing_a_rule_that_was_not_proposed_conflicts(client, auth, shanghai_rule):
    response = client.post(f"/api/v1/rules/{shanghai_rule['rule_id']}/publish", headers=auth)
    assert response.status_code == 409


def test_a_national_rule_cannot_be_proposed_again(client, auth, national_rule):
    response = client.post(f"/api/v1/rules/{national_rule['rule_id']}/propose", headers=auth)
    assert response.status_code == 409


def test_the_audit_log_keeps_who_when_and_what_for_every_change(client, auth, national_rule):
    rule_id = national_rule["rule_id"]
    client.put(f"/api/v1/rules/{rule_id}", json=threshold_spec(threshold=40), headers=auth)
    client.put(f"/api/v1/rules/{rule_id}/overrides/5300", json={"threshold": 30}, headers=auth)
    client.delete(f"/api/v1/rules/{rule_id}", headers=auth)
    entries = client.get("/api/v1/audit", headers=auth).json["items"]
    assert [(e["action"], e["object_type"]) for e in entries] == [
        ("delete", "rule"),
        ("create", "override"),
        ("update", "rule"),
        ("create", "rule"),
    ]
    update = entries[2]
    assert (update["before"]["threshold"], update["after"]["threshold"]) == (48, 40)
    assert update["actor"] == "test admin@CN" and update["actor_node_id"] == "CN" and update["at"]


def test_audit_entries_are_visible_only_within_the_subtree(client, engine, auth, shanghai_rule):
    shenzhen = client.get("/api/v1/audit", headers=bearer(engine, "viewer", "5300")).json
    assert shenzhen["items"] == []
    shanghai = client.get("/api/v1/audit", headers=bearer(engine, "viewer", "2200")).json
    assert [e["object_id"] for e in shanghai["items"]] == [str(shanghai_rule["rule_id"])]


def test_numbers_that_cannot_be_compared_or_stored_are_refused(client, auth):
    body = '{"name": "n", "kind": "threshold", "indicator": "x", "threshold": NaN}'
    response = client.post(
        "/api/v1/rules", data=body, content_type="application/json", headers=auth
    )
    # NaN is not JSON: quaywatch.http.request_body refuses the body before the rule is parsed.
    assert response.status_code == 400
    assert response.json["errors"] == [{"field": "body", "reason": "NaN is not a JSON number"}]
    assert client.get("/api/v1/rules/99999999999", headers=auth).status_code == 404


def test_bad_list_filters_are_400s_naming_the_parameter(client, auth):
    for query, field in [
        ("/rules?enabled=maybe", "enabled"),
        ("/alerts/history?since=yesterday", "since"),
        ("/alerts?rule_id=abc", "rule_id"),
    ]:
        response = client.get("/api/v1" + query, headers=auth)
        assert response.status_code == 400, query
        assert response.json["errors"][0]["field"] == field


# --- PATCH: a partial change, merged into the stored rule and validated whole ---------------
