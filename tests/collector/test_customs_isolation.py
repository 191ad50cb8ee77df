"""Two customs, two tokens: neither can change, move or read the other's cargo, by any route.

Shenzhen Customs (5300) holds Shekou; Shanghai Customs (2200) holds Yangshan. Each test sends a
write both ways and checks that the other side's lots and events are exactly as they were."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from conftest import make_token

NOW = datetime.now(UTC).replace(microsecond=0)
SIDES = {"5300": "5304-SHEKOU", "2200": "2201-YANGSHAN"}


@pytest.fixture
def tokens(engine) -> dict[str, dict[str, str]]:
    return {
        customs: {"Authorization": f"Bearer {make_token(engine, 'station', customs)}"}
        for customs in SIDES
    }


def event(n: int, kind: str, site: str, hours_ago: float, **fields: object) -> dict[str, object]:
    return {
        "event_id": f"ev-{n}",
        "kind": kind,
        "occurred_at": (NOW - timedelta(hours=hours_ago)).isoformat(),
        "site_id": site,
        "lot_id": "MSCU1234567",
        **fields,
    }


def snapshot(engine, site: str) -> tuple[list[tuple], list[tuple]]:
    with engine.connect() as conn:
        lots = conn.execute(
            text("SELECT * FROM lot WHERE site_id = :s ORDER BY lot_id, visit_no"), {"s": site}
        ).all()
        events = conn.execute(
            text("SELECT * FROM cargo_event WHERE site_id = :s ORDER BY event_id"), {"s": site}
        ).all()
    return [tuple(r) for r in lots], [tuple(r) for r in events]


PAIRS = [("5300", "2200"), ("2200", "5300")]


@pytest.mark.parametrize(("owner", "intruder"), PAIRS)
def test_an_event_for_the_other_customs_site_is_a_per_item_error(
    client, engine, tokens, owner, intruder
):
    own = event(1, "arrived", SIDES[owner], 5, hazard_class="3")
    assert client.post("/api/v1/events", json=[own], headers=tokens[owner]).status_code == 202
    before = snapshot(engine, SIDES[owner])
    attacks = [
        event(2, "removed", SIDES[owner], 1),
        event(3, "released", SIDES[owner], 6),  # earlier than the arrival
        {**own, "hazard_class": None, "direction": "export"},
    ]
    response = client.post("/api/v1/events", json=attacks, headers=tokens[intruder])
    assert response.status_code == 422
    assert [(e["index"], e["field"]) for e in response.json["errors"]] == [
        (0, "site_id"),
        (1, "site_id"),
        (2, "site_id"),
    ]
    assert snapshot(engine, SIDES[owner]) == before


@pytest.mark.parametrize(("owner", "intruder"), PAIRS)
def test_the_same_lot_and_event_ids_at_the_other_site_are_the_other_customs_own(
    client, engine, tokens, owner, intruder
):
    own = event(1, "arrived", SIDES[owner], 5, hazard_class="3")
    client.post("/api/v1/events", json=[own], headers=tokens[owner])
    before = snapshot(engine, SIDES[owner])
    # Same event id and time, same lot id, the intruder's own site: its own, separate event.
    theirs = [{**own, "site_id": SIDES[intruder], "kind": "removed"}]
    response = client.post("/api/v1/events", json=theirs, headers=tokens[intruder])
    assert response.status_code == 202 and response.json["stored"] == 1
    assert snapshot(engine, SIDES[owner]) == before
    mine = client.get("/api/v1/lots/MSCU1234567", headers=tokens[owner]).json
    assert (mine["site_id"], mine["stage"], mine["hazard_class"]) == (SIDES[owner], "arrived", "3")
    assert [v["site_id"] for v in mine["visits"]] == [SIDES[owner]]
    other = client.get("/api/v1/lots/MSCU1234567", headers=tokens[intruder]).json
    assert (other["site_id"], other["stage"]) == (SIDES[intruder], "removed")


@pytest.mark.parametrize(("owner", "intruder"), PAIRS)
def test_reads_of_the_other_customs_objects_are_not_found_and_name_nothing(
    client, engine, tokens, owner, intruder
):
    client.post(
        "/api/v1/events",
        json=[event(1, "arrived", SIDES[owner], 5, lot_id="ONLY-THERE")],
        headers=tokens[owner],
    )
    site = SIDES[owner]
    for path in (
        "/api/v1/lots/ONLY-THERE",
        "/api/v1/lots?lot_id=ONLY-THERE",
        f"/api/v1/lots/ONLY-THERE?site_id={site}",
        f"/api/v1/nodes/{site}",
        f"/api/v1/metrics/{site}/lots_on_site",
        f"/api/v1/forecasts/{site}/lots_on_site",
    ):
        response = client.get(path, headers=tokens[intruder])
        assert response.status_code == 404, path
        body = response.get_data(as_text=True)
        assert response.mimetype == "application/problem+json", path
        named = body.count(site)
        assert named <= path.count(site), (path, body)  # at most the id the client asked for
