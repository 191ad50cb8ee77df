"""Tokens with a lifecycle: expiry, last use, list and revoke, from the CLI and the API. Two
admins of different customs (Shenzhen 5300, Shanghai 2200) try every route both ways."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import text

import quaywatch.cli as cli_module
from conftest import make_token

CUSTOMS = {"shenzhen": ("5300", "5304-SHEKOU"), "shanghai": ("2200", "2201-YANGSHAN")}


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def admins(engine):
    return {name: make_token(engine, "admin", node) for name, (node, _) in CUSTOMS.items()}


def mint(client, token, **body):
    return client.post("/api/v1/tokens", json={"name": "duty", "role": "viewer", **body},
                       headers=bearer(token))  # fmt: skip


def test_a_token_is_shown_once_at_creation_and_never_listed_or_logged(client, admins, caplog):
    caplog.set_level(logging.DEBUG)
    created = mint(client, admins["shenzhen"], node_id="5304-SHEKOU", expires_in="30d")

    assert created.status_code == 201, created.json
    token = created.json["token"]
    expires = datetime.fromisoformat(created.json["expires_at"])
    assert timedelta(days=29, hours=23) < expires - datetime.now(UTC) <= timedelta(days=30)
    assert client.get("/api/v1/alerts", headers=bearer(token)).status_code == 200
    listed = client.get("/api/v1/tokens", headers=bearer(admins["shenzhen"])).json["items"]
    mine = next(t for t in listed if t["token_id"] == created.json["token_id"])
    assert mine["last_used_at"] is not None and mine["role"] == "viewer"
    assert "token" not in mine and "token_hash" not in mine
    assert token not in str(listed) and token not in caplog.text


def test_a_token_never_mints_one_broader_than_itself_or_outside_its_subtree(client, engine, admins):
    operator = make_token(engine, "operator", "5300")
    assert mint(client, operator).status_code == 403  # no tokens:write
    for customs, other in (("shenzhen", "2200"), ("shanghai", "5300")):
        outside = mint(client, admins[customs], node_id=other, role="admin")
        assert outside.status_code == 403 and outside.json["errors"][0]["field"] == "node_id"
        national = mint(client, admins[customs], node_id="CN")
        assert national.status_code == 403
    short = mint(client, admins["shenzhen"], role="admin", node_id="5300", expires_in="1h").json
    longer = mint(client, short["token"], expires_in="2h", node_id="5304-SHEKOU")
    assert longer.status_code == 403 and longer.json["errors"][0]["field"] == "expires_in"
    assert mint(client, short["token"], expires_in="30m", node_id="5304").status_code == 201


def test_the_role_order_is_enforced_in_the_store(engine):
    from quaywatch.security.auth import Principal, may_grant

    station = Principal(1, "s", "station", "5300")
    assert may_grant(station, "viewer") and may_grant(station, "station")
    assert not may_grant(station, "operator") and not may_grant(station, "admin")


def test_tokens_of_another_customs_are_neither_listed_nor_revoked(client, admins):
    ids = {}
    for customs, (_, site) in CUSTOMS.items():
        ids[customs] = mint(client, admins[customs], node_id=site).json["token_id"]
    for customs, other in (("shenzhen", "shanghai"), ("shanghai", "shenzhen")):
        headers = bearer(admins[customs])
        listed = {
            t["token_id"] for t in client.get("/api/v1/tokens", headers=headers).json["items"]
        }
        assert ids[customs] in listed and ids[other] not in listed
        assert client.delete(f"/api/v1/tokens/{ids[other]}", headers=headers).status_code == 404
        assert client.get("/api/v1/tokens?node=CN", headers=headers).status_code == 404
    assert (
        client.delete("/api/v1/tokens/999999", headers=bearer(admins["shanghai"])).status_code
        == 404
    )


def test_a_revoked_token_is_refused_and_listed_as_revoked(client, admins):
    created = mint(client, admins["shanghai"], node_id="2201-YANGSHAN").json
    path = f"/api/v1/tokens/{created['token_id']}"

    revoked = client.delete(path, headers=bearer(admins["shanghai"]))

    assert revoked.status_code == 200 and revoked.json["revoked_at"]
    assert client.get("/api/v1/alerts", headers=bearer(created["token"])).status_code == 401
    listed = client.get("/api/v1/tokens", headers=bearer(admins["shanghai"])).json["items"]
    assert next(t for t in listed if t["token_id"] == created["token_id"])["revoked_at"]


def test_an_expired_token_is_refused(client, engine, admins):
    created = mint(client, admins["shanghai"], node_id="2200", expires_in="1h").json
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE api_token SET expires_at = now() - interval '1s' WHERE token_id = :i"),
            {"i": created["token_id"]},
        )
    answer = client.get("/api/v1/alerts", headers=bearer(created["token"]))
    assert answer.status_code == 401 and "expired" in answer.json["detail"]


def test_bad_expiries_and_roles_name_the_field(client, admins):
    for body, field in (({"expires_in": "soon"}, "expires_in"), ({"role": "root"}, "role")):
        answer = mint(client, admins["shanghai"], **body)
        assert answer.status_code == 422 and answer.json["errors"][0]["field"] == field


def test_the_cli_creates_with_an_expiry_lists_without_values_and_revokes(db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    run = CliRunner().invoke
    created = run(cli_module.cli, ["tokens", "create", "--name", "ops", "--role", "viewer",
                                   "--node", "5300", "--expires-in", "30d"])  # fmt: skip
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()

    listed = run(cli_module.cli, ["tokens", "list", "--node", "5300"])
    assert listed.exit_code == 0, listed.output
    [line] = [row.split("\t") for row in listed.stdout.splitlines() if "\tops\t" in row]
    assert token not in listed.stdout and line[2:4] == ["viewer", "5300"]
    assert line[6] != "-" and line[7] == "active"
    token_id = line[0]

    revoked = run(cli_module.cli, ["tokens", "revoke", token_id])
    assert revoked.exit_code == 0, revoked.output
    again = run(cli_module.cli, ["tokens", "list", "--node", "5300"])
    assert next(r for r in again.stdout.splitlines() if "\tops\t" in r).endswith("\trevoked")
    bad = run(cli_module.cli, ["tokens", "create", "--name", "x", "--role", "viewer",
                               "--expires-in", "soon"])  # fmt: skip
    assert bad.exit_code != 0 and "--expires-in" in bad.output
