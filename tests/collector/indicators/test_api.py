"""/api/v1/indicators: a customs manages its own indicators (versions, retirement, proposal),
a national admin publishes them, every write is audited, built-ins are read-only, another
customs cannot see them nor learn whether a code is taken in its tree, and the metrics cycle
computes one only in its owner's subtree."""

from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner

from cargo_events import T0, ev, store
from collector.indicators.examples import GATE_IN_RIVER_PER_HOUR
from collector.rollup import metrics_cycle
from quaywatch.cli import cli
from tests.collector.helpers import RIVER_21_OVER_48H, select_all
from tests.conftest import make_token

# Nanjing customs (2300) owns it, so its code is in Nanjing's namespace.
RIVER = {**RIVER_21_OVER_48H, "code": "n2300__haz21_river_over_48h"}
CODE = RIVER["code"]
LONGTAN = "2301-LONGTAN"


def bearer(engine, node, role="admin"):
    return {"Authorization": f"Bearer {make_token(engine, role, node)}"}


def audit(engine):
    rows = select_all(
        engine,
        "SELECT action, node_id FROM audit_log WHERE object_type = 'indicator'"
        " AND object_id = :c ORDER BY audit_id",
        c=CODE,
    )
    return [tuple(r) for r in rows]


def test_a_customs_creates_changes_and_retires_its_indicator_with_versions_and_audit(
    client, engine
):
    nanjing = bearer(engine, "2300")
    created = client.post("/api/v1/indicators", json=RIVER, headers=nanjing)
    assert created.status_code == 201, created.json
    assert created.json["owner_node_id"] == "2300" and created.json["version"] == 1
    assert created.json["definition"]["en"].startswith("Number of lots at the site at t")
    stricter = {"filters": {**RIVER["filters"], "dwell_over_hours": 24}}
    changed = client.patch(f"/api/v1/indicators/{CODE}", json=stricter, headers=nanjing)
    assert changed.status_code == 200, changed.json
    assert [v["version"] for v in changed.json["versions"]] == [1, 2]
    listed = client.get("/api/v1/indicators?scope=2300", headers=nanjing).json["items"]
    assert [i["code"] for i in listed] == [CODE]
    assert client.delete(f"/api/v1/indicators/{CODE}", headers=nanjing).status_code == 204
    shown = client.get(f"/api/v1/indicators/{CODE}", headers=nanjing).json
    assert shown["state"] == "retired" and len(shown["versions"]) == 2
    assert audit(engine) == [("create", "2300"), ("update", "2300"), ("retire", "2300")]


def test_null_and_wrong_type_fields_are_a_422_naming_the_field(client, engine):
    nanjing = bearer(engine, "2300")
    for body, field in [
        ({**RIVER, "name_en": None}, "name_en"),
        ({**RIVER, "window_hours": "long"}, "window_hours"),
        ({**RIVER, "filters": {"dwell_over_hours": 24 * 100}}, "filters.dwell_over_hours"),
        ({**RIVER, "scope": 2300}, "scope"),
    ]:
        answer = client.post("/api/v1/indicators", json=body, headers=nanjing)
        assert answer.status_code == 422, (field, answer.json)
        assert answer.json["errors"][0]["field"] == field
    assert client.post("/api/v1/indicators", json=RIVER, headers=nanjing).status_code == 201
    wrong = client.patch(f"/api/v1/indicators/{CODE}", json={"unit": None}, headers=nanjing)
    assert wrong.status_code == 422 and wrong.json["errors"][0]["field"] == "unit"


def test_another_customs_never_sees_or_changes_the_indicator(client, engine):
    nanjing, beijing = bearer(engine, "2300"), bearer(engine, "0100")
    assert client.post("/api/v1/indicators", json=RIVER, headers=nanjing).status_code == 201
    mine = {"Authorization": beijing["Authorization"]}
    for method, path in [
        ("get", f"/api/v1/indicators/{CODE}"),
        ("patch", f"/api/v1/indicators/{CODE}"),
        ("delete", f"/api/v1/indicators/{CODE}"),
        ("post", f"/api/v1/indicators/{CODE}/propose"),
    ]:
        answer = getattr(client, method)(path, json={}, headers=mine)
        assert answer.status_code == 404, (method, answer.json)
        assert answer.json["detail"] == f"no indicator {CODE!r}"
    codes = [i["code"] for i in client.get("/api/v1/indicators", headers=mine).json["items"]]
    assert CODE not in codes and "lots_on_site" in codes
    # Beijing's own indicator is hidden from Nanjing the same way.
    other = {**RIVER, "code": "n0100__beijing_own"}
    assert client.post("/api/v1/indicators", json=other, headers=mine).status_code == 201
    assert client.get("/api/v1/indicators/n0100__beijing_own", headers=nanjing).status_code == 404
    outside = client.post(
        "/api/v1/indicators", json={**RIVER, "code": "x_abc", "scope": "2300"}, headers=mine
    )
    assert outside.status_code == 403


def test_a_code_below_the_nation_is_in_its_owners_namespace(client, engine):
    nanjing, national = bearer(engine, "2300"), bearer(engine, "CN")
    for body, prefix in [
        (RIVER_21_OVER_48H, "n2300__"),
        ({**RIVER, "scope": "2301"}, "n2301__"),
        ({**RIVER, "code": "n2300__"}, "n2300__"),
    ]:
        answer = client.post("/api/v1/indicators", json=body, headers=nanjing)
        assert answer.status_code == 422, answer.json
        assert answer.json["errors"] == [
            {
                "field": "code",
                "reason": f"an indicator owned by {body.get('scope', '2300')}"
                f" has a code starting with {prefix!r}",
            }
        ]
    national_code = client.post("/api/v1/indicators", json=RIVER, headers=national)
    assert national_code.status_code == 422 and "no '__'" in national_code.json["detail"]
    assert client.post("/api/v1/indicators", json=RIVER, headers=nanjing).status_code == 201
    # Taken inside the caller's own namespace: its own indicator, so the 409 says nothing new.
    again = client.post("/api/v1/indicators", json=RIVER, headers=nanjing)
    assert again.status_code == 409 and again.json["errors"][0]["field"] == "code"


def test_a_customs_cannot_learn_whether_another_customs_has_a_code(client, engine):
    nanjing, beijing = bearer(engine, "2300"), bearer(engine, "0100")

    def probe():
        answer = client.post("/api/v1/indicators", json=RIVER, headers=beijing)
        return answer.status_code, answer.json

    absent = probe()
    assert client.post("/api/v1/indicators", json=RIVER, headers=nanjing).status_code == 201
    assert probe() == absent
    assert absent[0] == 422 and absent[1]["errors"][0]["field"] == "code"


def test_a_customs_creates_an_events_indicator(client, engine):
    nanjing = bearer(engine, "2300")
    gate_in = {
        **GATE_IN_RIVER_PER_HOUR,
        "code": "n2300__gate_in_river_per_hour",
        "theme": "data_quality",
        "window_hours": 1,
    }
    created = client.post("/api/v1/indicators", json=gate_in, headers=nanjing)
    assert created.status_code == 201, created.json
    assert created.json["source"] == "cargo_events" and "population" not in created.json["spec"]
    for change, field in [
        ({"window_hours": None}, "window_hours"),
        ({"window_hours": 48}, "window_hours"),
        ({"filters": {"dwell_over_hours": 24}}, "filters.dwell_over_hours"),
        ({"measure": {"kind": "sum_teu"}}, "measure.kind"),
    ]:
        answer = client.patch(f"/api/v1/indicators/{gate_in['code']}", json=change, headers=nanjing)
        assert answer.status_code == 422, (field, answer.json)
        assert answer.json["errors"][0]["field"] == field


def test_built_ins_are_read_only(client, engine):
    nanjing = bearer(engine, "2300")
    shown = client.get("/api/v1/indicators/lots_on_site", headers=nanjing).json
    assert shown["builtin"] is True and shown["editable"] is False
    assert (
        client.patch("/api/v1/indicators/lots_on_site", json={}, headers=nanjing).status_code == 409
    )
    assert client.delete("/api/v1/indicators/lots_on_site", headers=nanjing).status_code == 409
    taken = client.post(
        "/api/v1/indicators", json={**RIVER, "code": "lots_on_site"}, headers=nanjing
    )
    assert taken.status_code == 409 and taken.json["errors"][0]["field"] == "code"


def test_a_customs_proposes_and_only_a_national_admin_publishes(client, engine):
    nanjing, national = bearer(engine, "2300"), bearer(engine, "CN")
    assert client.post("/api/v1/indicators", json=RIVER, headers=nanjing).status_code == 201
    assert client.post(f"/api/v1/indicators/{CODE}/publish", headers=nanjing).status_code == 403
    early = client.post(f"/api/v1/indicators/{CODE}/publish", headers=national)
    assert early.status_code == 409
    proposed = client.post(
        f"/api/v1/indicators/{CODE}/propose", json={"comment": "useful"}, headers=nanjing
    )
    assert proposed.status_code == 200 and proposed.json["proposal_status"] == "proposed"
    published = client.post(f"/api/v1/indicators/{CODE}/publish", headers=national)
    assert published.status_code == 200, published.json
    assert published.json["owner_node_id"] == "CN" and published.json["version"] == 2
    assert published.json["code"] == CODE  # publishing keeps the code
    # Published, it is national: read-only for the customs that proposed it.
    assert client.patch(f"/api/v1/indicators/{CODE}", json={}, headers=nanjing).status_code == 403
    assert audit(engine) == [("create", "2300"), ("propose", "2300"), ("publish", "2300")]


def value_at(engine, node, at):
    rows = select_all(
        engine,
        "SELECT p.value FROM metric_point p JOIN series s USING (series_id)"
        " WHERE s.node_id = :n AND s.indicator_code = :c AND p.time = :t",
        n=node,
        c=CODE,
        t=at,
    )
    return rows[0][0] if rows else None


def test_a_created_indicator_is_computed_only_at_its_owners_sites_and_rollups(client, engine):
    store(
        engine,
        [
            ev("l1", "arrived", 0, LONGTAN, hazard_class="2.1"),
            ev("t1", "arrived", 0, "2302-TAICANG", hazard_class="2.1"),
        ],
    )
    nanjing = bearer(engine, "2300")
    assert client.post("/api/v1/indicators", json=RIVER, headers=nanjing).status_code == 201
    at = T0 + timedelta(hours=100)
    metrics_cycle(engine, at)
    assert value_at(engine, LONGTAN, at) == 1
    assert value_at(engine, "2301", at) == 1
    assert value_at(engine, "2300", at) == 2
    assert value_at(engine, "CN", at) is None and value_at(engine, "0100", at) is None
    published = {"Authorization": bearer(engine, "CN")["Authorization"]}
    client.post(f"/api/v1/indicators/{CODE}/propose", headers=nanjing)
    client.post(f"/api/v1/indicators/{CODE}/publish", headers=published)
    metrics_cycle(engine, at + timedelta(minutes=1))
    assert value_at(engine, "CN", at + timedelta(minutes=1)) == 2
    assert value_at(engine, "0100", at + timedelta(minutes=1)) == 0


def test_metrics_backfill_indicator_is_indicators_backfill(client, engine, settings, monkeypatch):
    from collector.commands import register

    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    register(cli)
    nanjing = bearer(engine, "2300")
    assert client.post("/api/v1/indicators", json=RIVER, headers=nanjing).status_code == 201
    since = (T0 + timedelta(hours=40)).isoformat()
    until = (T0 + timedelta(hours=41)).isoformat()
    args = ["--since", since, "--until", until]
    result = CliRunner().invoke(cli, ["metrics", "backfill", "--indicator", CODE, *args])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{CODE}: recomputed 2 times")
