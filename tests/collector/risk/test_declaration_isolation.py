"""Two customs, Shenzhen (5300, site 5304-SHEKOU) and Shanghai (2200, site 2201-YANGSHAN): every
declaration write route is tried both ways across the boundary. Nothing of the other customs
moves or changes, and every refusal is a per-item error, or a 404 that names nothing the caller
did not send."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text

from collector.events import TimePolicy
from collector.risk.declarations import parse_declarations
from collector.risk.simulation.simulator import RATES
from collector.risk.store import save_declarations
from conftest import make_token
from quaywatch.db import raw_connection

FOREIGN = "is stored under a site this token cannot write"
# Everything a refused write could touch.
_TABLES = (
    "declaration",
    "declaration_amendment",
    "risk_flag",
    "risk_review",
    "trader_profile",
    "trader_pattern",
    "site_hs",
    "site_hs_origin",
    "risk_reference",
    "risk_rule",
    "audit_log",
)


@dataclass(frozen=True)
class Customs:
    node: str
    site: str
    office: str


SHENZHEN = Customs("5300", "5304-SHEKOU", "5304")
SHANGHAI = Customs("2200", "2201-YANGSHAN", "2201")
BOTH_WAYS = [(SHENZHEN, SHANGHAI), (SHANGHAI, SHENZHEN)]
IDS = ["shenzhen-to-shanghai", "shanghai-to-shenzhen"]


def bearer(engine, role: str, node: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(engine, role, node)}"}


def snapshot(engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            table: sorted(
                (tuple(r) for r in conn.execute(text(f"SELECT * FROM {table}"))), key=repr
            )
            for table in _TABLES
        }


def owned(risk, owner: Customs, n: int = 1, **overrides: Any) -> dict[str, Any]:
    """Declaration n of `owner`: same id and time whoever sends it."""
    return risk.declaration(n, site_id=owner.site, trader_id=f"T-{owner.node}", **overrides)


def stored_flagged(risk, owner: Customs) -> dict[str, Any]:
    """The owner's declaration, stored with a net-over-gross flag."""
    item = owned(risk, owner, net_kg=9.0)
    risk.store([item])
    assert "net_over_gross" in risk.flags(item["declaration_id"])
    return item


def attacked(engine, risk, victim: Customs, attacker: Customs):
    """The victim's flagged declaration, every table as it then is, and a station token of the
    attacker's customs."""
    theirs = stored_flagged(risk, victim)
    return theirs, snapshot(engine), bearer(engine, "station", attacker.node)


def refused(response, index: int) -> dict[str, Any]:
    assert response.status_code in (202, 422), response.json
    [error] = [e for e in response.json["errors"] if e["index"] == index]
    return error


@pytest.mark.parametrize(("victim", "attacker"), BOTH_WAYS, ids=IDS)
@pytest.mark.parametrize(
    "how",
    [
        {},  # a plain re-send, identical but for the site
        {"amendment_no": 1},
        {"amendment_no": 1, "declared_value": 1.0},
        {"declared_value": 1.0},  # same amendment_no, other content
        {"amendment_no": 7, "trader_id": "T-X", "hs_code": "01012100"},
    ],
    ids=["resend", "amend", "amend-value", "same-number-other-content", "amend-everything"],
)
def test_another_customs_cannot_write_a_declaration_from_its_own_site(
    client, engine, risk, victim, attacker, how
):
    theirs, before, auth = attacked(engine, risk, victim, attacker)
    mine = owned(risk, attacker, 50)
    attempt = {**theirs, "site_id": attacker.site, **how}
    response = client.post("/api/v1/declarations", json=[mine, attempt], headers=auth)
    assert response.status_code == 202, response.json
    assert response.json["accepted_ids"] == [mine["declaration_id"]]
    assert (response.json["stored"], response.json["amended"]) == (1, 0)
    assert response.json["duplicates"] == 0
    error = refused(response, 1)
    assert error == {
        "index": 1,
        "field": "declaration_id",
        "reason": FOREIGN,
        "declaration_id": theirs["declaration_id"],
    }
    assert victim.site not in response.get_data(as_text=True)
    # Only the attacker's own declaration (and its counters) was added.
    after = snapshot(engine)
    assert [r for r in after["declaration"] if r[0] != mine["declaration_id"]] == before[
        "declaration"
    ]
    for table in ("declaration_amendment", "risk_review", "risk_rule", "audit_log"):
        assert after[table] == before[table], table
    assert [r for r in after["risk_flag"] if r[1] != mine["declaration_id"]] == before["risk_flag"]
    alone = client.post("/api/v1/declarations", json=[attempt], headers=auth)
    assert alone.status_code == 422
    assert refused(alone, 0)["reason"] == FOREIGN


@pytest.mark.parametrize(("victim", "attacker"), BOTH_WAYS, ids=IDS)
def test_another_customs_cannot_write_new_or_stored_declarations_at_the_owners_site(
    client, engine, risk, victim, attacker
):
    theirs, before, auth = attacked(engine, risk, victim, attacker)
    new = owned(risk, victim, 77)
    for item in (new, theirs, {**theirs, "amendment_no": 1, "declared_value": 1.0}):
        response = client.post("/api/v1/declarations", json=[item], headers=auth)
        assert response.status_code == 422
        error = refused(response, 0)
        assert error["field"] == "site_id"  # the site it sent, named back to it
    assert snapshot(engine) == before


@pytest.mark.parametrize(("victim", "attacker"), BOTH_WAYS, ids=IDS)
def test_nothing_is_counted_into_the_references_or_profiles_for_a_refused_item(
    client, engine, risk, victim, attacker
):
    theirs, before, auth = attacked(engine, risk, victim, attacker)
    attempts = [
        {**theirs, "site_id": attacker.site, "amendment_no": n, "declared_value": 10.0 * (n + 1)}
        for n in (0, 1, 2)
    ]
    response = client.post("/api/v1/declarations", json=attempts, headers=auth)
    assert response.status_code == 422
    assert [e["reason"] for e in response.json["errors"]] == [FOREIGN] * 3
    assert snapshot(engine) == before


@pytest.mark.parametrize(("victim", "attacker"), BOTH_WAYS, ids=IDS)
def test_reading_another_customs_declaration_is_a_404_naming_only_the_id(
    client, engine, risk, victim, attacker
):
    theirs = stored_flagged(risk, victim)
    auth = bearer(engine, "viewer", attacker.node)
    response = client.get(f"/api/v1/risk/declarations/{theirs['declaration_id']}", headers=auth)
    assert response.status_code == 404
    assert response.json["detail"] == f"no declaration {theirs['declaration_id']!r}"
    assert victim.site not in response.get_data(as_text=True)
    assert victim.node not in response.get_data(as_text=True)
    own = bearer(engine, "viewer", victim.node)
    assert (
        client.get(f"/api/v1/risk/declarations/{theirs['declaration_id']}", headers=own).status_code
        == 200
    )


def test_one_id_declared_at_two_customs_at_different_times_reads_as_each_ones_own(
    client, engine, risk
):
    risk.store(
        [
            owned(risk, SHENZHEN, 1, declaration_id="SHARED-1"),
            owned(risk, SHANGHAI, 2, declaration_id="SHARED-1"),
        ]
    )
    for customs in (SHENZHEN, SHANGHAI):
        auth = bearer(engine, "viewer", customs.node)
        response = client.get("/api/v1/risk/declarations/SHARED-1", headers=auth)
        assert [i["site_id"] for i in response.json["items"]] == [customs.site]
    national = bearer(engine, "viewer", "CN")
    response = client.get("/api/v1/risk/declarations/SHARED-1", headers=national)
    assert len(response.json["items"]) == 2


@pytest.mark.parametrize(("victim", "attacker"), BOTH_WAYS, ids=IDS)
def test_reviewing_another_customs_flag_is_a_404_and_changes_nothing(
    client, engine, risk, victim, attacker
):
    theirs = stored_flagged(risk, victim)
    flag_id = risk.flags(theirs["declaration_id"])["net_over_gross"]["flag_id"]
    before = snapshot(engine)
    auth = bearer(engine, "admin", attacker.node)
    response = client.post(
        f"/api/v1/risk/flags/{flag_id}/review", json={"outcome": "cleared"}, headers=auth
    )
    assert response.status_code == 404
    assert victim.site not in response.get_data(as_text=True)
    assert snapshot(engine) == before
    own = bearer(engine, "operator", victim.node)
    ok = client.post(
        f"/api/v1/risk/flags/{flag_id}/review", json={"outcome": "confirmed"}, headers=own
    )
    assert ok.status_code == 200


@pytest.mark.parametrize(("victim", "attacker"), BOTH_WAYS, ids=IDS)
def test_risk_rules_do_not_cross_the_boundary(client, engine, risk, victim, attacker):
    mine = bearer(engine, "admin", victim.node)
    rule = {"name": "all handsets", "conditions": {"hs_prefixes": ["8517"]}}
    own_rule = client.post("/api/v1/risk/rules", json=rule, headers=mine).json["rule_id"]
    before = snapshot(engine)
    auth = bearer(engine, "admin", attacker.node)
    for node in (victim.node, victim.office, victim.site):
        created = client.post("/api/v1/risk/rules", json={**rule, "node_id": node}, headers=auth)
        assert created.status_code == 404
        others = {victim.node, victim.office, victim.site} - {node}
        assert not any(f"'{other}'" in created.get_data(as_text=True) for other in others)
    for path in ("", "/precision"):
        got = client.get(f"/api/v1/risk/rules/{own_rule}{path}", headers=auth)
        assert got.status_code == 404 and victim.node not in got.get_data(as_text=True)
    proposed = client.post(f"/api/v1/risk/rules/{own_rule}/propose", json={}, headers=auth)
    assert proposed.status_code == 404
    listed = client.get("/api/v1/risk/rules", headers=auth).json["items"]
    assert own_rule not in [r["rule_id"] for r in listed]
    assert snapshot(engine) == before
    # A rule of the attacker's customs never flags the victim's declarations.
    their_rule = client.post("/api/v1/risk/rules", json=rule, headers=auth).json["rule_id"]
    item = owned(risk, victim, 9)
    risk.store([item])
    assert risk.mark(item["declaration_id"])[2] == [own_rule]
    assert f"rule:{their_rule}" not in risk.flags(item["declaration_id"])


@pytest.mark.parametrize(("victim", "attacker"), BOTH_WAYS, ids=IDS)
def test_the_queue_and_precision_of_another_customs_are_404(client, engine, risk, victim, attacker):
    stored_flagged(risk, victim)
    auth = bearer(engine, "viewer", attacker.node)
    queue = client.get("/api/v1/risk/queue", headers=auth)
    assert queue.status_code == 200 and queue.json["items"] == []
    for route in ("/api/v1/risk/queue", "/api/v1/risk/precision"):
        response = client.get(f"{route}?node={victim.site}", headers=auth)
        assert response.status_code == 404


def test_the_owner_amends_and_moves_a_declaration_only_within_its_subtree(client, engine, risk):
    theirs = stored_flagged(risk, SHENZHEN)
    office = bearer(engine, "station", "5304")
    moved = {**theirs, "amendment_no": 1, "site_id": "5304-CHIWAN"}
    response = client.post("/api/v1/declarations", json=[moved], headers=office)
    assert response.json["amended"] == 1, response.json
    away = {**theirs, "amendment_no": 2, "site_id": "5301-HUANGGANG"}  # Shenzhen, other office
    refused_move = client.post("/api/v1/declarations", json=[away], headers=office)
    assert refused_move.status_code == 422
    assert refused_move.json["errors"][0]["field"] == "site_id"
    # The customs token may move it to its other office; the office token then cannot write it.
    customs = bearer(engine, "station", "5300")
    assert client.post("/api/v1/declarations", json=[away], headers=customs).json["amended"] == 1
    back = {**theirs, "amendment_no": 3, "site_id": "5304-CHIWAN"}
    again = client.post("/api/v1/declarations", json=[back], headers=office)
    assert again.json["errors"][0]["reason"] == FOREIGN
    with engine.connect() as conn:
        site, number = conn.execute(
            text("SELECT site_id, amendment_no FROM declaration WHERE declaration_id = :d"),
            {"d": theirs["declaration_id"]},
        ).one()
    assert (site, number) == ("5301-HUANGGANG", 2)


def test_save_declarations_drops_rows_stored_under_sites_it_may_not_write(risk, engine):
    theirs = stored_flagged(risk, SHENZHEN)
    before = snapshot(engine)
    attempt = {**theirs, "site_id": SHANGHAI.site, "amendment_no": 1}
    valid, errors = parse_declarations([attempt], TimePolicy(), RATES | {"CNY": 1.0})
    assert not errors
    with raw_connection(engine) as conn:
        result = save_declarations(
            conn, [d.as_row("test", d.declared_at) for d in valid], writable_sites={SHANGHAI.site}
        )
    assert (result.stored, result.amended, result.duplicates) == (0, 0, 0)
    assert [(r.position, r.field, r.reason) for r in result.rejected] == [
        (0, "declaration_id", FOREIGN)
    ]
    assert snapshot(engine) == before
    # Without a restriction (file import, feeds, the simulator) the amendment applies.
    with raw_connection(engine) as conn:
        result = save_declarations(conn, [d.as_row("test", d.declared_at) for d in valid])
    assert result.amended == 1


def _rows(risk, items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    valid, errors = parse_declarations(items, TimePolicy(), RATES | {"CNY": 1.0})
    assert not errors
    return [d.as_row("test", d.declared_at) for d in valid]


def _race(engine, first: list[tuple[Any, ...]], second: list[tuple[Any, ...]], **kw: Any):
    """`first` is saved but not yet committed when `second` is saved from another connection
    (which then waits on the row); returns the second's result once the first commits."""
    results: list[Any] = []
    with raw_connection(engine) as conn:
        save_declarations(conn, first)
        worker = threading.Thread(
            target=lambda: results.append(_save(engine, second, **kw)), daemon=True
        )
        worker.start()
        time.sleep(0.5)  # the second is now blocked on the row the first updated
        assert worker.is_alive()
    worker.join(timeout=30)
    return results[0]


def _save(engine, rows, **kw: Any):
    with raw_connection(engine) as conn:
        return save_declarations(conn, rows, **kw)


def test_a_declaration_moved_away_meanwhile_is_judged_again_and_refused(risk, engine):
    theirs = stored_flagged(risk, SHANGHAI)
    # Unrestricted (a file import) moves it to Shenzhen while Shanghai amends it.
    moved = _rows(risk, [{**theirs, "site_id": SHENZHEN.site, "amendment_no": 1}])
    amended = _rows(risk, [{**theirs, "amendment_no": 2, "declared_value": 1.0}])
    result = _race(engine, moved, amended, writable_sites={SHANGHAI.site})
    assert [r.reason for r in result.rejected] == [FOREIGN]
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT site_id, amendment_no, declared_value FROM declaration")
        ).one()
    assert tuple(row) == (SHENZHEN.site, 1, theirs["declared_value"])


def test_an_amendment_overtaken_meanwhile_writes_nothing(risk, engine):
    theirs = stored_flagged(risk, SHENZHEN)
    later = _rows(risk, [{**theirs, "amendment_no": 2, "net_kg": 5.0}])
    earlier = _rows(risk, [{**theirs, "amendment_no": 1, "declared_value": 1.0}])
    result = _race(engine, later, earlier)
    assert (result.amended, result.duplicates) == (0, 1)
    # The flags are those of amendment 2 (a normal weight), none of amendment 1's.
    assert "net_over_gross" not in risk.flags(theirs["declaration_id"])
    assert risk.mark(theirs["declaration_id"])[1] == ["new_trader"]
    with engine.connect() as conn:
        log = conn.execute(text("SELECT amendment_no FROM declaration_amendment")).scalars()
        assert list(log) == [2]
