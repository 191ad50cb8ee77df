from __future__ import annotations

from conftest import make_token


def bearer(engine, role: str, node: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(engine, role, node)}"}


def flagged_at_two_customs(risk) -> None:
    """Shekou (Shenzhen customs) and Yangshan (Shanghai) each get a new trader and a net-over-
    gross declaration."""
    risk.store(
        [
            risk.declaration(1, trader_id="A"),
            risk.declaration(2, trader_id="A", net_kg=9.0),
            risk.declaration(3, trader_id="B", site_id="2201-YANGSHAN"),
            risk.declaration(4, trader_id="B", site_id="2201-YANGSHAN", net_kg=9.0),
        ]
    )


def ids(response) -> list[str]:
    assert response.status_code == 200, response.json
    return [item["declaration_id"] for item in response.json["items"]]


def test_the_queue_lists_flagged_declarations_by_score_with_their_flags(client, engine, risk):
    flagged_at_two_customs(risk)
    auth = bearer(engine, "viewer", "CN")
    response = client.get("/api/v1/risk/queue", headers=auth)
    # Highest score first; equal scores newest first.
    assert ids(response) == ["D00004", "D00002", "D00003", "D00001"]
    top = response.json["items"][1]
    assert top["risk_score"] == 10.0 and top["review"] is None
    assert [f["feature"] for f in top["flags"]] == ["net_over_gross"]
    assert top["flags"][0]["reason"].startswith("net weight 9.00 kg exceeds")
    assert ids(client.get("/api/v1/risk/queue?feature=new_trader", headers=auth)) == [
        "D00003",
        "D00001",
    ]
    assert ids(client.get("/api/v1/risk/queue?min_score=5", headers=auth)) == ["D00004", "D00002"]
    page = client.get("/api/v1/risk/queue?limit=3&offset=0", headers=auth).json
    assert page["next_offset"] == 3 and len(page["items"]) == 3
    assert client.get("/api/v1/risk/queue?feature=colour", headers=auth).status_code == 400


def test_the_subtree_boundary_holds_both_ways(client, engine, risk):
    flagged_at_two_customs(risk)
    shenzhen = bearer(engine, "operator", "5300")
    shanghai = bearer(engine, "operator", "2200")
    assert ids(client.get("/api/v1/risk/queue", headers=shenzhen)) == ["D00002", "D00001"]
    assert ids(client.get("/api/v1/risk/queue", headers=shanghai)) == ["D00004", "D00003"]
    assert ids(client.get("/api/v1/risk/queue?node=5304-SHEKOU", headers=shenzhen)) == [
        "D00002",
        "D00001",
    ]
    assert client.get("/api/v1/risk/queue?node=2201-YANGSHAN", headers=shenzhen).status_code == 404
    assert client.get("/api/v1/risk/declarations/D00004", headers=shenzhen).status_code == 404
    yangshan_flag = risk.flags("D00004")["net_over_gross"]["flag_id"]
    review = {"outcome": "confirmed"}
    url = f"/api/v1/risk/flags/{yangshan_flag}/review"
    assert client.post(url, json=review, headers=shenzhen).status_code == 404
    assert client.post(url, json=review, headers=shanghai).status_code == 200
    national = bearer(engine, "viewer", "CN")
    assert len(ids(client.get("/api/v1/risk/queue", headers=national))) == 4


def test_reviews_move_items_between_the_open_and_reviewed_queues(client, engine, risk):
    flagged_at_two_customs(risk)
    auth = bearer(engine, "operator", "CN")
    flag_id = risk.flags("D00002")["net_over_gross"]["flag_id"]
    response = client.post(
        f"/api/v1/risk/flags/{flag_id}/review",
        json={"outcome": "confirmed", "note": "weighed at the gate"},
        headers=auth,
    )
    assert (
        response.json["outcome"] == "confirmed" and response.json["reviewer"] == "test operator@CN"
    )
    assert ids(client.get("/api/v1/risk/queue?reviewed=true", headers=auth)) == ["D00002"]
    assert "D00002" not in ids(client.get("/api/v1/risk/queue?reviewed=false", headers=auth))
    item = client.get("/api/v1/risk/declarations/D00002", headers=auth).json["items"][0]
    assert item["review"]["note"] == "weighed at the gate"


def test_only_operators_and_admins_review_and_the_outcome_is_validated(client, engine, risk):
    flagged_at_two_customs(risk)
    flag_id = risk.flags("D00002")["net_over_gross"]["flag_id"]
    url = f"/api/v1/risk/flags/{flag_id}/review"
    viewer = bearer(engine, "viewer", "CN")
    assert client.post(url, json={"outcome": "confirmed"}, headers=viewer).status_code == 403
    operator = bearer(engine, "operator", "CN")
    bad = client.post(url, json={"outcome": "maybe"}, headers=operator)
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "outcome"
    assert (
        client.post(
            "/api/v1/risk/flags/999999/review", json={"outcome": "cleared"}, headers=operator
        ).status_code
        == 404
    )


def test_feature_precision_counts_reviewed_declarations_per_feature(client, engine, risk):
    flagged_at_two_customs(risk)
    auth = bearer(engine, "operator", "CN")
    for declaration, outcome in (("D00001", "cleared"), ("D00003", "confirmed")):
        flag_id = risk.flags(declaration)["new_trader"]["flag_id"]
        client.post(f"/api/v1/risk/flags/{flag_id}/review", json={"outcome": outcome}, headers=auth)
    items = {
        i["feature"]: i for i in client.get("/api/v1/risk/precision", headers=auth).json["items"]
    }
    assert items["new_trader"]["precision"] == 0.5
    assert items["net_over_gross"]["reviewed"] == 0 and items["net_over_gross"]["precision"] is None
    shenzhen = bearer(engine, "viewer", "5300")
    mine = client.get("/api/v1/risk/precision", headers=shenzhen).json["items"]
    assert {i["feature"]: i["precision"] for i in mine}["new_trader"] == 0.0
