"""PATCH /api/v1/rules/<id>: only the named fields change, validated whole as PUT, within the
token's subtree."""

from __future__ import annotations

import pytest
from alert_rules import threshold_spec

from conftest import make_token


def bearer(engine, role="admin", node="CN"):
    return {"Authorization": f"Bearer {make_token(engine, role, node)}"}


def patch(client, rule, body, headers):
    return client.patch(f"/api/v1/rules/{rule['rule_id']}", json=body, headers=headers)


def test_a_patch_changes_only_the_fields_it_names_with_a_new_version_and_audit_entry(
    client, auth, national_rule
):
    changed = patch(client, national_rule, {"threshold": 40, "for": "5m"}, auth)
    assert changed.status_code == 200, changed.json
    assert (changed.json["threshold"], changed.json["for"]) == (40, "5m")
    assert changed.json["name"] == national_rule["name"] and changed.json["operator"] == ">"
    assert changed.json["version"] == 2 and changed.headers["ETag"] == '"2"'
    rule_id = national_rule["rule_id"]
    audit = client.get(f"/api/v1/audit?object_type=rule&object_id={rule_id}", headers=auth).json
    latest = audit["items"][0]
    assert latest["action"] == "update"
    assert (latest["before"]["threshold"], latest["after"]["threshold"]) == (48, 40)


def test_an_explicit_null_for_a_field_that_cannot_be_empty_is_a_422_naming_it(
    client, auth, national_rule
):
    response = patch(client, national_rule, {"threshold": None}, auth)
    assert response.status_code == 422
    assert [e["field"] for e in response.json["errors"]] == ["threshold"]
    assert (
        client.get(f"/api/v1/rules/{national_rule['rule_id']}", headers=auth).json["version"] == 1
    )


def test_a_null_recovery_threshold_clears_it(client, auth):
    spec = threshold_spec(recovery_threshold=40)
    rule = client.post("/api/v1/rules", json=spec, headers=auth).json
    cleared = patch(client, rule, {"recovery_threshold": None}, auth)
    assert cleared.status_code == 200, cleared.json
    assert cleared.json.get("recovery_threshold") is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"threshold": "high"}, "threshold"),
        ({"enabled": "maybe"}, "enabled"),
        ({"severity": "loud"}, "severity"),
        ({"hours_before": 3}, "hours_before"),  # not a field of a threshold rule
    ],
)
def test_a_patch_of_the_wrong_type_is_a_422_naming_the_field(
    client, auth, national_rule, body, field
):
    response = patch(client, national_rule, body, auth)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json["errors"]]


def test_a_patch_that_is_not_an_object_is_a_400(client, auth, national_rule):
    response = patch(client, national_rule, [1], auth)
    assert response.status_code == 400


def test_a_patch_with_a_stale_if_match_is_refused(client, auth, national_rule):
    headers = {**auth, "If-Match": '"7"'}
    assert patch(client, national_rule, {"threshold": 40}, headers).status_code == 412


def test_a_patch_from_below_the_rules_node_is_forbidden_and_from_a_sibling_not_found(
    client, engine, national_rule, shanghai_rule
):
    below = patch(client, national_rule, {"threshold": 1}, bearer(engine, "admin", "5300"))
    assert below.status_code == 403
    sibling = patch(client, shanghai_rule, {"threshold": 1}, bearer(engine, "admin", "5300"))
    assert sibling.status_code == 404
    viewer = patch(client, shanghai_rule, {"threshold": 1}, bearer(engine, "viewer", "2200"))
    assert viewer.status_code == 403


def test_a_patch_cannot_move_a_rule_out_of_the_tokens_subtree(client, engine, auth):
    spec = threshold_spec(name="shenzhen_slow", node_id="5300", threshold=30)
    rule = client.post("/api/v1/rules", json=spec, headers=auth).json
    moved = patch(client, rule, {"node_id": "2200"}, bearer(engine, "admin", "5300"))
    assert moved.status_code == 403
    assert moved.json["errors"][0]["field"] == "node_id"


def test_a_patch_to_a_taken_name_is_a_409(client, auth, national_rule, shanghai_rule):
    response = patch(client, shanghai_rule, {"name": national_rule["name"]}, auth)
    assert response.status_code == 409
