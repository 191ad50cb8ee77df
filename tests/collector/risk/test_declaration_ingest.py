from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import text

from conftest import make_token
from quaywatch.cli import cli
from tests.collector.helpers import select_all, select_one, select_value


def post(client, auth, items, **kwargs):
    return client.post("/api/v1/declarations", json=items, headers=auth, **kwargs)


def test_a_valid_batch_is_stored_screened_and_committed_before_202(client, auth, risk, engine):
    risk.history()
    cheap = risk.declaration(100, declared_value=700.0)  # a tenth of the usual unit value
    response = post(client, auth, [risk.declaration(99), cheap])
    assert response.status_code == 202, response.json
    assert response.json["stored"] == 2
    flagged = {f["declaration_id"]: f for f in response.json["flagged"]}
    assert list(flagged) == ["D00100"]
    assert "unit_value" in flagged["D00100"]["features"]
    # The 202 means the flags are already visible to every other connection.
    assert "unit_value" in risk.flags("D00100")
    assert risk.mark("D00100")[0] >= 3.5


def test_a_bad_item_is_reported_by_field_and_the_valid_ones_are_kept(client, auth, engine):
    items = [
        {"declaration_id": "A1"},
        {"declaration_id": "A2", "hs_code": "8517"},
        {"declaration_id": "A3", "origin": "Vietnam"},
        {"declaration_id": "A4", "quantity": 0},
        {"declaration_id": "A5", "currency": "XYZ", "value_cny": None},
        {"declaration_id": "A6", "declared_at": "2026-03-01T08:00:00"},
        "not an object",
    ]
    base = {
        "declared_at": "2026-03-01T08:00:00+08:00",
        "site_id": "5304-SHEKOU",
        "trader_id": "T1",
        "hs_code": "85171300",
        "origin": "VN",
        "declared_value": 100,
        "currency": "USD",
        "quantity": 10,
        "unit": "pcs",
        "gross_kg": 5,
    }
    body = [{**base, **item} if isinstance(item, dict) else item for item in items]
    response = post(client, auth, body)
    assert response.status_code == 202
    assert response.json["accepted_ids"] == ["A1"]
    errors = {e["index"]: (e["field"], e["reason"]) for e in response.json["errors"]}
    assert errors[1] == ("hs_code", "an HS code is 8 or 10 digits, e.g. 85171300")
    assert errors[2][0] == "origin" and "alpha-2" in errors[2][1]
    assert errors[3] == ("quantity", "must be greater than zero")
    assert errors[4] == ("currency", "no CNY rate for XYZ; send value_cny as well")
    assert errors[5][0] == "declared_at" and "time zone" in errors[5][1]
    assert errors[6] == ("item", "must be a JSON object")
    assert response.json["errors"][0]["declaration_id"] == "A2"
    with engine.connect() as conn:
        row = conn.execute(text("SELECT unit, value_cny FROM declaration")).one()
    assert row[0] == "PCS" and abs(row[1] - 710.0) < 1e-6  # USD at the fx_rate default


def test_a_resent_declaration_is_a_duplicate_by_id_and_time(client, auth, risk, engine):
    first = post(client, auth, [risk.declaration(1), risk.declaration(2)])
    again = post(client, auth, [risk.declaration(1), risk.declaration(2), risk.declaration(1)])
    assert first.json["stored"] == 2
    assert again.status_code == 202
    assert (again.json["stored"], again.json["amended"], again.json["duplicates"]) == (0, 0, 3)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM declaration")).scalar() == 2
        assert conn.execute(text("SELECT n FROM trader_profile")).scalar() == 2


def test_an_amendment_replaces_the_values_logs_the_old_ones_and_is_rescored(
    client, auth, risk, engine
):
    risk.history()
    post(client, auth, [risk.declaration(200)])
    amended = risk.declaration(200, amendment_no=1, declared_value=500.0)
    response = post(client, auth, [amended])
    assert response.json["amended"] == 1
    assert "unit_value" in risk.flags("D00200")
    restored = risk.declaration(200, amendment_no=2)
    post(client, auth, [restored])
    assert "unit_value" not in risk.flags("D00200")
    log = select_all(
        engine,
        "SELECT amendment_no, before ->> 'declared_value' FROM declaration_amendment"
        " ORDER BY amendment_no",
    )
    row = select_one(
        engine,
        "SELECT amendment_no, declared_value, trader_prior FROM declaration"
        " WHERE declaration_id = 'D00200'",
    )
    amended_count = select_value(
        engine, "SELECT amended FROM trader_profile WHERE trader_id = 'T1'"
    )
    assert [n for n, _ in log] == [1, 2] and float(log[1][1]) == 500.0
    assert row[0] == 2 and row[1] == restored["declared_value"]
    assert row[2] > 0  # the context of the first arrival is kept
    assert amended_count == 1  # counted once per declaration, not per amendment


def test_ndjson_lines_are_validated_one_by_one(client, auth, risk):
    body = "\n".join([json.dumps(risk.declaration(1)), "{oops", json.dumps(risk.declaration(3))])
    response = client.post(
        "/api/v1/declarations", data=body, headers={**auth, "Content-Type": "application/x-ndjson"}
    )
    assert response.status_code == 202
    assert response.json["accepted_ids"] == ["D00001", "D00003"]
    assert response.json["errors"][0]["index"] == 1


def test_a_station_token_declares_only_at_sites_in_its_subtree(client, engine, risk):
    token = make_token(engine, "station", "5300")
    outside = risk.declaration(2, site_id="2201-YANGSHAN")
    response = post(client, {"Authorization": f"Bearer {token}"}, [risk.declaration(1), outside])
    assert response.json["accepted_ids"] == ["D00001"]
    assert response.json["errors"][0]["field"] == "site_id"
    viewer = make_token(engine, "viewer")
    assert (
        post(client, {"Authorization": f"Bearer {viewer}"}, [risk.declaration(3)]).status_code
        == 403
    )


def test_the_import_command_reports_bad_lines_by_number_and_keeps_the_rest(
    tmp_path, risk, settings, monkeypatch, engine
):
    path = tmp_path / "declarations.ndjson"
    lines = [
        json.dumps(risk.declaration(1)),
        "{broken",
        json.dumps(risk.declaration(3, unit="")),
        json.dumps(risk.declaration(4)),
    ]
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    from collector.risk.commands import register

    register(cli)
    result = CliRunner().invoke(cli, ["declarations", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "line 2: line: invalid JSON" in result.output
    assert "line 3: unit:" in result.output
    assert "2 declarations stored" in result.output
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT count(*) FROM declaration WHERE source = 'file'")).scalar()
            == 2
        )
