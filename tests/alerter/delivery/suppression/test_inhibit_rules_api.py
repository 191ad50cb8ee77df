"""Inhibit rules over HTTP: CRUD, validation, nulls, the audit log and the subtree boundary."""

from __future__ import annotations

import pytest

from conftest import make_token
from tests.alerter.helpers import rows

DEFAULT = "no data at a node mutes its threshold and forecast alerts"


def bearer(engine, node_id: str, role: str = "admin") -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(engine, role, node_id)}"}


def a_rule(**fields):
    return {
        "name": "berth queue mutes dwell",
        "source_matchers": [{"name": "alertname", "value": "BerthQueueHigh"}],
        "target_matchers": [{"name": "alertname", "op": "=~", "value": "Dwell.*"}],
        "equal": ["site"],
        **fields,
    }


def test_the_shipped_rule_is_a_national_row_that_a_national_token_lists(client, auth):
    listed = client.get("/api/v1/inhibit-rules", headers=auth)

    assert listed.status_code == 200, listed.json
    [shipped] = listed.json["items"]
    assert shipped["name"] == DEFAULT and shipped["node_id"] == "CN" and shipped["enabled"]
    assert shipped["source_matchers"] == [{"name": "kind", "op": "=", "value": "no_data"}]
    assert shipped["equal"] == ["node"]
    assert listed.json["next_offset"] is None


def test_a_rule_is_created_read_changed_and_deleted_with_an_audit_row_for_each(
    client, auth, engine
):
    created = client.post("/api/v1/inhibit-rules", json=a_rule(node_id="3100"), headers=auth)
    assert created.status_code == 201, created.json
    rule_id = created.json["inhibit_rule_id"]
    assert created.json["node_id"] == "3100"
    assert created.json["created_by"] == "test admin@CN"  # from the token
    assert created.json["target_matchers"] == [
        {"name": "alertname", "op": "=~", "value": "Dwell.*"}
    ]

    got = client.get(f"/api/v1/inhibit-rules/{rule_id}", headers=auth)
    assert got.json == created.json

    patched = client.patch(
        f"/api/v1/inhibit-rules/{rule_id}", json={"enabled": False, "equal": []}, headers=auth
    )
    assert patched.status_code == 200, patched.json
    assert patched.json["enabled"] is False and patched.json["equal"] == []
    assert patched.json["name"] == created.json["name"]  # unnamed fields are kept

    deleted = client.delete(f"/api/v1/inhibit-rules/{rule_id}", headers=auth)
    assert deleted.status_code == 204
    assert client.get(f"/api/v1/inhibit-rules/{rule_id}", headers=auth).status_code == 404
    audit = rows(
        engine,
        "SELECT action, node_id, actor FROM audit_log WHERE object_type = 'inhibit_rule'"
        " AND object_id = :id ORDER BY audit_id",
        id=str(rule_id),
    )
    assert [a["action"] for a in audit] == ["create", "update", "delete"]
    assert {a["node_id"] for a in audit} == {"3100"}
    listed = client.get("/api/v1/audit?object_type=inhibit_rule", headers=auth).json["items"]
    assert {(a["action"], a["actor"]) for a in listed} == {
        ("create", "test admin@CN"),
        ("update", "test admin@CN"),
        ("delete", "test admin@CN"),
    }


def test_the_list_is_paged_like_the_other_lists(client, auth):
    for n in range(3):
        client.post("/api/v1/inhibit-rules", json=a_rule(name=f"r{n}"), headers=auth)

    first = client.get("/api/v1/inhibit-rules?limit=2", headers=auth).json
    second = client.get("/api/v1/inhibit-rules?limit=2&offset=2", headers=auth).json

    assert len(first["items"]) == 2 and first["next_offset"] == 2
    assert len(second["items"]) == 2 and second["next_offset"] is None
    assert client.get("/api/v1/inhibit-rules?limit=0", headers=auth).status_code == 400


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (a_rule(source_matchers=[]), "source_matchers"),
        (a_rule(target_matchers=[]), "target_matchers"),
        ({k: v for k, v in a_rule().items() if k != "target_matchers"}, "target_matchers"),
        ({k: v for k, v in a_rule().items() if k != "name"}, "name"),
        (a_rule(equal=["not a label"]), "equal.0"),
        (a_rule(equal=["site", "site"]), "equal"),
        (a_rule(source_matchers=[{"name": "x", "op": "=~", "value": "(a)\\1"}]), "source_matchers"),
        (a_rule(target_matchers=[{"name": "x", "value": "y"}] * 21), "target_matchers"),
        (a_rule(name="n" * 201), "name"),
        (a_rule(node_id="0100"), "node_id"),  # exists, but not in 3100's subtree
        (a_rule(colour="red"), "colour"),
    ],
)
def test_a_bad_body_is_a_422_naming_the_field(client, engine, body, field):
    response = client.post("/api/v1/inhibit-rules", json=body, headers=bearer(engine, "3100"))

    assert response.status_code == 422, response.json
    assert response.json["errors"][0]["field"].startswith(field), response.json


@pytest.mark.parametrize(
    "field", ["name", "node_id", "source_matchers", "target_matchers", "equal", "enabled"]
)
def test_an_explicit_null_is_refused_naming_the_field_on_create_and_on_patch(
    client, auth, engine, field
):
    created = client.post("/api/v1/inhibit-rules", json=a_rule(**{field: None}), headers=auth)
    assert created.status_code == 422, created.json
    assert created.json["errors"][0]["field"] == field

    [shipped] = rows(engine, "SELECT inhibit_rule_id FROM inhibit_rule")
    patched = client.patch(
        f"/api/v1/inhibit-rules/{shipped['inhibit_rule_id']}", json={field: None}, headers=auth
    )
    assert patched.status_code == 422, patched.json
    assert patched.json["errors"][0]["field"] == field
    assert rows(engine, "SELECT name, enabled FROM inhibit_rule") == [
        {"name": DEFAULT, "enabled": True}
    ]


def test_a_second_rule_of_the_same_name_at_a_node_is_a_409(client, auth):
    assert client.post("/api/v1/inhibit-rules", json=a_rule(), headers=auth).status_code == 201
    again = client.post("/api/v1/inhibit-rules", json=a_rule(), headers=auth)
    assert again.status_code == 409 and "name" in again.json["detail"]


def test_two_customs_neither_see_nor_change_each_others_rules(client, engine):
    ningbo, shenzhen = bearer(engine, "3100"), bearer(engine, "5300")
    mine = client.post("/api/v1/inhibit-rules", json=a_rule(), headers=ningbo).json
    theirs = client.post("/api/v1/inhibit-rules", json=a_rule(), headers=shenzhen).json
    assert mine["node_id"] == "3100" and theirs["node_id"] == "5300"

    for token, own, other in ((ningbo, mine, theirs), (shenzhen, theirs, mine)):
        listed = client.get("/api/v1/inhibit-rules", headers=token).json["items"]
        assert [r["inhibit_rule_id"] for r in listed] == [own["inhibit_rule_id"]]
        path = f"/api/v1/inhibit-rules/{other['inhibit_rule_id']}"
        for response in (
            client.get(path, headers=token),
            client.patch(path, json={"enabled": False}, headers=token),
            client.delete(path, headers=token),
        ):
            assert response.status_code == 404
            assert response.json["detail"] == f"no inhibit rule {other['inhibit_rule_id']}"
        moved = client.patch(
            f"/api/v1/inhibit-rules/{own['inhibit_rule_id']}",
            json={"node_id": other["node_id"]},
            headers=token,
        )
        assert moved.status_code == 422 and moved.json["errors"][0]["field"] == "node_id"
    assert {r["enabled"] for r in rows(engine, "SELECT enabled FROM inhibit_rule")} == {True}


def test_only_a_national_token_can_disable_the_shipped_rule(client, engine, auth):
    [shipped] = rows(engine, "SELECT inhibit_rule_id FROM inhibit_rule")
    path = f"/api/v1/inhibit-rules/{shipped['inhibit_rule_id']}"

    refused = client.patch(path, json={"enabled": False}, headers=bearer(engine, "3100"))
    assert refused.status_code == 404
    assert client.get("/api/v1/inhibit-rules", headers=bearer(engine, "3100")).json["items"] == []

    done = client.patch(path, json={"enabled": False}, headers=auth)
    assert done.status_code == 200 and done.json["enabled"] is False


def test_writing_needs_rules_write_and_ids_are_positive_ints(client, engine, auth):
    operator = bearer(engine, "CN", "operator")
    assert client.get("/api/v1/inhibit-rules", headers=operator).status_code == 200
    assert client.post("/api/v1/inhibit-rules", json=a_rule(), headers=operator).status_code == 403

    for bad in ("0", "-1", str(2**31), str(2**70), "abc"):
        response = client.get(f"/api/v1/inhibit-rules/{bad}", headers=auth)
        assert response.status_code == 404, (bad, response.status_code)
