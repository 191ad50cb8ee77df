"""A silence's author is the calling token: a client-supplied created_by cannot impersonate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from conftest import make_token


def silence(**fields):
    ends = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    matchers = [{"name": "site", "value": "3101-BEILUN"}]
    return {"matchers": matchers, "ends_at": ends, "comment": "crane maintenance", **fields}


def test_a_client_created_by_is_refused_and_the_author_is_the_token(client, engine):
    operator = {"Authorization": f"Bearer {make_token(engine, 'operator', '3100')}"}

    impersonating = client.post(
        "/api/v1/silences", json=silence(created_by="national director"), headers=operator
    )
    null = client.post("/api/v1/silences", json=silence(created_by=None), headers=operator)
    created = client.post("/api/v1/silences", json=silence(), headers=operator)

    assert impersonating.status_code == 422, impersonating.json
    assert impersonating.json["errors"][0]["field"] == "created_by"
    assert "calling token" in impersonating.json["errors"][0]["reason"]
    assert null.status_code == 422
    assert created.status_code == 201 and created.json["created_by"] == "test operator@3100"
    listed = client.get("/api/v1/silences", headers=operator).json["items"]
    assert [s["created_by"] for s in listed] == ["test operator@3100"]
