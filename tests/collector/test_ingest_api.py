from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from conftest import make_token
from tests.collector.helpers import select_all

SITE = "5304-SHEKOU"
NOW = datetime.now(UTC).replace(microsecond=0)


def event(n: int, kind: str = "arrived", **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "event_id": f"ev-{n}",
        "kind": kind,
        "occurred_at": (NOW - timedelta(hours=10) + timedelta(minutes=n)).isoformat(),
        "site_id": SITE,
        "lot_id": f"lot-{n}",
        "direction": "import",
    }
    body.update(overrides)
    return body


def post(client, auth, items, **kwargs):
    return client.post("/api/v1/events", json=items, headers=auth, **kwargs)


def test_a_valid_batch_is_committed_before_202(client, auth, engine):
    response = post(client, auth, [event(1), event(2, hazard_class="3", un_number="1203")])
    assert response.status_code == 202, response.json
    assert response.json["stored"] == 2
    lots = select_all(
        engine,
        "SELECT lot_id, stage, hazard_class, un_number, deadline_at FROM lot ORDER BY lot_id",
    )
    assert [(lot[0], lot[1]) for lot in lots] == [("lot-1", "arrived"), ("lot-2", "arrived")]
    assert lots[1][2:4] == ("3", "UN1203")
    assert lots[0][4] is None and lots[1][4] is not None


def test_a_bad_item_is_reported_by_field_and_the_valid_ones_are_kept(client, auth, engine):
    items = [
        event(1),
        event(2, kind="teleported"),
        event(3, occurred_at="yesterday"),
        event(4, hazard_class="12"),
        {"kind": "arrived"},
        event(6),
    ]
    response = post(client, auth, items)
    assert response.status_code == 202
    assert response.json["accepted_ids"] == ["ev-1", "ev-6"]
    errors = {e["index"]: (e["field"], e["reason"]) for e in response.json["errors"]}
    assert errors[1][0] == "kind" and "arrived" in errors[1][1]
    assert errors[2] == ("occurred_at", "is not an ISO 8601 timestamp")
    assert errors[3][0] == "hazard_class" and "IMDG" in errors[3][1]
    assert errors[4] == ("event_id", "is required")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM cargo_event")).scalar() == 2


def test_duplicates_are_idempotent_by_event_id(client, auth, engine):
    first = post(client, auth, [event(1), event(2)])
    again = post(client, auth, [event(1), event(2), event(1)])
    assert first.json["stored"] == 2
    assert again.status_code == 202 and again.json["stored"] == 0 and again.json["duplicates"] == 3
    with engine.connect() as conn:
        assert conn.execute(text("SELECT sum(event_count) FROM lot")).scalar() == 2


def test_ndjson_lines_are_validated_one_by_one(client, auth, engine):
    body = "\n".join([json.dumps(event(1)), "{not json", json.dumps(event(3))]) + "\n"
    response = client.post(
        "/api/v1/events", data=body, headers={**auth, "Content-Type": "application/x-ndjson"}
    )
    assert response.status_code == 202
    assert response.json["accepted_ids"] == ["ev-1", "ev-3"]
    assert response.json["errors"][0]["index"] == 1
    assert response.json["errors"][0]["field"] == "item"


def test_a_timestamp_without_a_zone_is_rejected_with_a_clear_message(client, auth):
    response = post(client, auth, [event(1, occurred_at="2026-03-01T08:00:00")])
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "occurred_at"
    assert "time zone" in response.json["errors"][0]["reason"]


def test_an_event_from_the_future_is_rejected_as_clock_skew(client, auth):
    response = post(client, auth, [event(1, occurred_at=(NOW + timedelta(hours=2)).isoformat())])
    assert response.status_code == 422
    assert "clock skew" in response.json["errors"][0]["reason"]


def test_a_batch_over_the_limit_gets_413_with_a_message(app, client, auth):
    app.extensions["quaywatch.settings"] = app.extensions["quaywatch.settings"].replace(max_batch=3)
    response = post(client, auth, [event(n) for n in range(4)])
    assert response.status_code == 413
    assert "limit is 3" in response.json["detail"]
    assert response.mimetype == "application/problem+json"


def test_a_body_over_the_size_limit_gets_413(app, client, auth):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = post(client, auth, [event(n) for n in range(50)])
    assert response.status_code == 413
    assert "1000 bytes" in response.json["detail"]


def test_pushing_without_a_token_is_refused(client):
    response = client.post("/api/v1/events", json=[event(1)])
    assert response.status_code == 401


def test_a_viewer_token_cannot_push(client, engine):
    token = make_token(engine, "viewer")
    response = post(client, {"Authorization": f"Bearer {token}"}, [event(1)])
    assert response.status_code == 403


def test_a_station_token_pushes_only_to_sites_in_its_subtree(client, engine):
    token = make_token(engine, "station", "5300")
    outside = event(2, site_id="2201-YANGSHAN")
    response = post(client, {"Authorization": f"Bearer {token}"}, [event(1), outside])
    assert response.json["accepted_ids"] == ["ev-1"]
    assert response.json["errors"][0]["field"] == "site_id"


def test_a_nul_character_is_a_field_error_not_a_failed_batch(client, auth):
    response = post(client, auth, [event(1), event(2, lot_id="lot\x002")])
    assert response.status_code == 202
    assert response.json["accepted_ids"] == ["ev-1"]
    assert response.json["errors"][0]["field"] == "lot_id"
