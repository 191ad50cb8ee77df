"""What a lot is: one visit of a container at one site, whose hazard facts no later event can
erase, readable back by any id the API accepted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from sqlalchemy import text

from cargo_events import ev, store

NOW = datetime.now(UTC).replace(microsecond=0)
SHEKOU, CHIWAN, YANGSHAN = "5304-SHEKOU", "5304-CHIWAN", "2201-YANGSHAN"


def event(n: int, kind: str, hours_ago: float, lot: str = "MSCU1234567", **fields: object):
    return {
        "event_id": f"ev-{n}",
        "kind": kind,
        "occurred_at": (NOW - timedelta(hours=hours_ago)).isoformat(),
        "site_id": SHEKOU,
        "lot_id": lot,
        **fields,
    }


def post(client, auth, items):
    response = client.post("/api/v1/events", json=items, headers=auth)
    assert response.status_code in (202, 422), response.json
    return response


def lot(client, auth, lot_id: str, **args: str):
    return client.get(f"/api/v1/lots/{quote(lot_id, safe='')}", headers=auth, query_string=args)


HAZARD = {"hazard_class": "3", "un_number": "UN1203", "packing_group": "II", "teu": 2}


def test_an_event_that_states_only_the_direction_keeps_the_hazard_facts_and_deadline(client, auth):
    post(client, auth, [event(1, "arrived", 5, **HAZARD)])
    before = lot(client, auth, "MSCU1234567").json
    post(client, auth, [event(2, "declared", 4, direction="import")])
    after = lot(client, auth, "MSCU1234567").json
    assert (after["hazard_class"], after["un_number"], after["packing_group"]) == (
        "3",
        "UN1203",
        "II",
    )
    assert after["teu"] == 2 and after["direction"] == "import"
    assert after["deadline_at"] == before["deadline_at"] is not None
    assert after["stage"] == "declared" and after["event_count"] == 2


def test_an_event_that_states_only_the_un_number_reaches_the_lot(client, auth):
    post(client, auth, [event(1, "arrived", 5, hazard_class="3")])
    post(client, auth, [event(2, "inspection_started", 4, un_number="1203")])
    assert lot(client, auth, "MSCU1234567").json["un_number"] == "UN1203"


def test_a_later_statement_of_a_field_corrects_it_and_an_earlier_one_does_not(client, auth):
    post(client, auth, [event(1, "arrived", 5, hazard_class="3")])
    post(client, auth, [event(2, "declared", 3, hazard_class="8", packing_group="II")])
    post(client, auth, [event(3, "held", 4, hazard_class="9")])  # stamped before the declaration
    state = lot(client, auth, "MSCU1234567").json
    assert state["hazard_class"] == "8" and state["limit_hours"] == 120


def test_a_packing_group_not_stated_gets_the_strictest_limit_of_its_class(client, auth):
    post(client, auth, [event(1, "arrived", 5, hazard_class="6.1")])
    state = lot(client, auth, "MSCU1234567").json
    assert state["limit_hours"] == 48 and state["deadline_at"] is not None


def test_the_same_container_at_two_sites_is_two_lots(client, auth):
    post(client, auth, [event(1, "arrived", 300, **HAZARD), event(2, "removed", 290)])
    post(client, auth, [event(3, "arrived", 5, site_id=YANGSHAN, hazard_class="8")])
    latest = lot(client, auth, "MSCU1234567").json
    assert (latest["site_id"], latest["stage"], latest["hazard_class"]) == (
        YANGSHAN,
        "arrived",
        "8",
    )
    first = lot(client, auth, "MSCU1234567", site_id=SHEKOU).json
    assert (first["stage"], first["hazard_class"], first["un_number"]) == ("removed", "3", "UN1203")
    assert {(v["site_id"], v["visit_no"]) for v in latest["visits"]} == {(SHEKOU, 1), (YANGSHAN, 1)}


def test_the_same_container_back_at_the_same_site_is_a_new_visit(client, auth):
    post(client, auth, [event(1, "arrived", 600, **HAZARD), event(2, "removed", 590)])
    post(client, auth, [event(3, "arrived", 5, teu=1)])
    current = lot(client, auth, "MSCU1234567").json
    assert (current["visit_no"], current["stage"], current["teu"]) == (2, "arrived", 1)
    # The new visit carries only what its own events stated.
    assert current["hazard_class"] is None and current["deadline_at"] is None
    first = lot(client, auth, "MSCU1234567", visit_no="1").json
    assert (first["stage"], first["hazard_class"], first["event_count"]) == ("removed", "3", 2)


def test_events_of_a_second_visit_sent_before_its_arrival_move_to_it_when_it_comes(engine):
    store(engine, [ev("L", "arrived", 0, hazard_class="3"), ev("L", "removed", 10)])
    store(engine, [ev("L", "released", 30)])  # visit 2's release, before its arrival is known
    store(engine, [ev("L", "arrived", 20, hazard_class="8", packing_group="I")])
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT visit_no, stage, hazard_class, event_count FROM lot ORDER BY visit_no")
        ).all()
    assert [tuple(r) for r in rows] == [(1, "removed", "3", 2), (2, "released", "8", 2)]


def test_a_lot_id_with_a_slash_or_unicode_can_be_read_back(client, auth):
    for n, lot_id in enumerate(["BL/2026/00017", "批次-7", "a%2Fb", "x?y#z"]):
        response = post(client, auth, [event(n, "arrived", 2, lot=lot_id)])
        assert response.json["stored"] == 1
        got = lot(client, auth, lot_id)
        assert got.status_code == 200 and got.json["lot_id"] == lot_id


def test_an_id_with_a_control_character_is_a_field_error(client, auth):
    response = post(client, auth, [event(1, "arrived", 2, lot="a\tb"), event(2, "arrived", 2)])
    assert response.json["accepted_ids"] == ["ev-2"]
    assert response.json["errors"][0]["field"] == "lot_id"


def test_a_copy_with_other_content_is_a_conflict_inside_a_batch_as_across_batches(client, auth):
    first = event(1, "arrived", 2, hazard_class="3")
    changed = {**first, "hazard_class": "8"}
    together = post(client, auth, [first, changed, first]).json
    assert together["accepted_ids"] == ["ev-1"]
    assert (together["stored"], together["duplicates"]) == (1, 1)
    assert [(e["index"], e["field"]) for e in together["errors"]] == [(1, "event_id")]
    assert "conflicts" in together["errors"][0]["reason"]
    apart = post(client, auth, [changed]).json
    assert apart["stored"] == 0 and apart["errors"][0]["field"] == "event_id"
    again = post(client, auth, [first]).json
    assert (again["stored"], again["duplicates"], again["rejected"]) == (0, 1, 0)
    assert lot(client, auth, "MSCU1234567").json["hazard_class"] == "3"


def test_a_lot_outside_the_tokens_subtree_is_not_found_and_not_named(client, auth, engine):
    from conftest import make_token

    post(client, auth, [event(1, "arrived", 2)])
    shanghai = {"Authorization": f"Bearer {make_token(engine, 'viewer', '2200')}"}
    response = lot(client, shanghai, "MSCU1234567")
    assert response.status_code == 404
    assert SHEKOU not in response.get_data(as_text=True)


def test_a_lot_id_that_looks_like_a_route_is_read_by_query(client, auth):
    post(client, auth, [event(1, "arrived", 2, lot="breach-predictions")])
    got = client.get("/api/v1/lots", headers=auth, query_string={"lot_id": "breach-predictions"})
    assert got.status_code == 200 and got.json["lot_id"] == "breach-predictions"
    assert client.get("/api/v1/lots", headers=auth).status_code == 400
