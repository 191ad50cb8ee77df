from __future__ import annotations

from sqlalchemy import text

from conftest import make_token

RULE = {
    "name": "cheap handsets from VN",
    "conditions": {"hs_prefixes": ["8517"], "origins": ["VN"], "unit_value_max": 100},
}


def bearer(engine, role: str, node: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(engine, role, node)}"}


def test_a_rule_marks_every_matching_declaration_in_its_subtree_only(client, engine, risk):
    office = bearer(engine, "admin", "5304")
    created = client.post("/api/v1/risk/rules", json=RULE, headers=office)
    assert created.status_code == 201, created.json
    rule_id = created.json["rule_id"]
    assert created.json["node_id"] == "5304"
    assert created.json["summary"] == "HS 8517*, origin VN, unit value <= 100 CNY"
    risk.store(
        [
            risk.declaration(1, declared_value=500.0),  # 50 CNY per unit at Shekou: a hit
            risk.declaration(2),  # 700 CNY per unit: no hit
            risk.declaration(3, declared_value=500.0, origin="TH"),  # other origin: no hit
            risk.declaration(4, declared_value=500.0, site_id="2201-YANGSHAN"),  # outside
        ]
    )
    flag = risk.flags("D00001")[f"rule:{rule_id}"]
    assert flag["reason"] == (
        f'matches risk rule #{rule_id} "cheap handsets from VN": HS 8517*, origin VN,'
        " unit value <= 100 CNY"
    )
    assert risk.mark("D00001")[2] == [rule_id]
    assert all(risk.mark(f"D0000{n}")[2] is None for n in (2, 3, 4))
    with engine.connect() as conn:
        hits = conn.execute(text("SELECT declaration_id FROM risk_rule_hit")).scalars().all()
    assert hits == ["D00001"]


def test_a_rule_on_the_score_and_features_matches_after_the_features(client, engine, risk):
    auth = bearer(engine, "admin", "CN")
    rule = {
        "name": "strong value anomalies",
        "conditions": {"min_score": 8, "features": ["unit_value"]},
    }
    rule_id = client.post("/api/v1/risk/rules", json=rule, headers=auth).json["rule_id"]
    risk.history()
    risk.store(
        [risk.declaration(100, declared_value=100.0), risk.declaration(101, trader_id="NEW")]
    )
    assert f"rule:{rule_id}" in risk.flags("D00100")
    assert f"rule:{rule_id}" not in risk.flags("D00101")


def test_a_rule_without_conditions_is_refused_naming_the_field(client, engine):
    response = client.post(
        "/api/v1/risk/rules",
        json={"name": "everything", "conditions": {}},
        headers=bearer(engine, "admin", "5304"),
    )
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "conditions"
    bad = client.post(
        "/api/v1/risk/rules",
        json={"name": "x", "conditions": {"hs_prefixes": ["85.17"]}},
        headers=bearer(engine, "admin", "5304"),
    )
    assert bad.status_code == 422 and "HS prefix" in bad.json["detail"]


def test_publishing_nationwide_needs_a_national_admin_and_leaves_an_audit_trail(
    client, engine, risk
):
    office = bearer(engine, "admin", "5304")
    rule_id = client.post("/api/v1/risk/rules", json=RULE, headers=office).json["rule_id"]
    national = bearer(engine, "admin", "CN")
    assert client.post(f"/api/v1/risk/rules/{rule_id}/publish", headers=national).status_code == 409
    proposed = client.post(
        f"/api/v1/risk/rules/{rule_id}/propose", json={"comment": "seen at Shekou"}, headers=office
    )
    assert proposed.json["proposal_status"] == "proposed"
    publish = f"/api/v1/risk/rules/{rule_id}/publish"
    operator = bearer(engine, "operator", "CN")
    # Neither the proposing office nor a national operator may publish.
    assert [client.post(publish, headers=h).status_code for h in (office, operator)] == [403, 403]
    published = client.post(publish, headers=national)
    assert published.status_code == 200
    assert (published.json["node_id"], published.json["origin_node_id"]) == ("CN", "5304")
    assert published.json["published_by"] == "test admin@CN"
    trail = client.get(f"/api/v1/risk/rules/{rule_id}", headers=office).json["audit"]
    assert [(a["action"], a["actor"]) for a in trail] == [
        ("create", "test admin@5304"),
        ("propose", "test admin@5304"),
        ("publish", "test admin@CN"),
    ]
    # "One discovery, nationwide warning": the rule now marks declarations at Yangshan too.
    risk.store([risk.declaration(4, declared_value=500.0, site_id="2201-YANGSHAN")])
    assert risk.mark("D00004")[2] == [rule_id]


def test_other_subtrees_see_an_office_rule_only_once_it_is_published(client, engine):
    office = bearer(engine, "admin", "5304")
    shanghai = bearer(engine, "admin", "2200")
    rule_id = client.post("/api/v1/risk/rules", json=RULE, headers=office).json["rule_id"]
    assert client.get(f"/api/v1/risk/rules/{rule_id}", headers=shanghai).status_code == 404
    assert client.get("/api/v1/risk/rules", headers=shanghai).json["items"] == []
    assert client.post(f"/api/v1/risk/rules/{rule_id}/propose", headers=shanghai).status_code == 404
    client.post(f"/api/v1/risk/rules/{rule_id}/propose", headers=office)
    client.post(f"/api/v1/risk/rules/{rule_id}/publish", headers=bearer(engine, "admin", "CN"))
    listed = client.get("/api/v1/risk/rules", headers=shanghai).json["items"]
    assert [(r["rule_id"], r["editable"]) for r in listed] == [(rule_id, False)]
    assert client.post(f"/api/v1/risk/rules/{rule_id}/propose", headers=shanghai).status_code == 403


def test_review_outcomes_feed_the_rules_precision(client, engine, risk):
    office = bearer(engine, "admin", "5304")
    rule_id = client.post("/api/v1/risk/rules", json=RULE, headers=office).json["rule_id"]
    risk.store([risk.declaration(n, declared_value=500.0) for n in range(1, 4)])
    flags = [risk.flags(f"D0000{n}")[f"rule:{rule_id}"]["flag_id"] for n in range(1, 4)]
    url = f"/api/v1/risk/rules/{rule_id}/precision"
    assert client.get(url, headers=office).json["precision"] is None
    for flag_id, outcome in zip(flags, ["confirmed", "confirmed", "cleared"], strict=True):
        response = client.post(
            f"/api/v1/risk/flags/{flag_id}/review", json={"outcome": outcome}, headers=office
        )
        assert response.status_code == 200, response.json
    figures = client.get(url, headers=office).json
    assert (figures["flagged"], figures["reviewed"], figures["confirmed"]) == (3, 3, 2)
    assert figures["precision"] == round(2 / 3, 4)
    # A changed outcome replaces the old one.
    client.post(
        f"/api/v1/risk/flags/{flags[2]}/review", json={"outcome": "confirmed"}, headers=office
    )
    assert client.get(url, headers=office).json["precision"] == 1.0
