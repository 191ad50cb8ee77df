"""A declaration is identified by (declaration_id, declared_at): the first copy stored wins, an
identical copy is a duplicate, a different copy with the same amendment_no is a conflict, and a
higher amendment_no is an amendment, whichever way the sender cut its batches."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from collector.events import TimePolicy
from collector.risk.declarations import DECLARATION_COLUMNS, parse_declarations
from collector.risk.simulation.simulator import RATES
from collector.risk.store import save_declarations
from quaywatch.db import raw_connection

CONFLICT = "conflicts with a declaration already received with the same id, time and amendment_no"
AMENDED_AT = "2026-03-01T10:00:00+08:00"
# Everything the sender states, so two stored rows can be compared across declaration ids.
_COMPARED = [c for c in DECLARATION_COLUMNS if c not in ("declaration_id", "received_at", "source")]


def post(client, auth, items):
    return client.post("/api/v1/declarations", json=items, headers=auth)


def row(engine, declaration_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        found = (
            conn.execute(
                text(f"SELECT {', '.join(_COMPARED)} FROM declaration WHERE declaration_id = :d"),
                {"d": declaration_id},
            )
            .mappings()
            .first()
        )
    return dict(found) if found else None


def send(client, auth, items) -> list[str | None]:
    """POST the items; per item, None when accepted, else the error's field and reason."""
    response = post(client, auth, items)
    assert response.status_code in (202, 422), response.json
    errors = {e["index"]: f"{e['field']}: {e['reason']}" for e in response.json["errors"]}
    return [errors.get(i) for i in range(len(items))]


def variant(risk, ident: str, spec: str) -> dict[str, Any]:
    """'a0' = amendment 0, content a; 'b1' = amendment 1, content b; ..."""
    content, number = spec[0], int(spec[1:])
    values = {"a": 7000.0, "b": 6500.0, "c": 7300.0, "d": 5000.0}
    item = risk.declaration(1, declaration_id=ident, declared_value=values[content])
    item["amendment_no"] = number
    if number:
        item["amended_at"] = AMENDED_AT
    return item


SEQUENCES = [
    ["a0", "b0"],  # the finding: last wins in a batch, first wins across batches
    ["a0", "a0"],
    ["a0", "b0", "a0", "b0"],
    ["a0", "b1"],
    ["a0", "b1", "c1", "a0"],
    ["b1", "a0"],
    ["a0", "b1", "c2", "d1", "c2"],
    ["a2", "b2", "a1"],
]


@pytest.mark.parametrize("sequence", SEQUENCES, ids=["-".join(s) for s in SEQUENCES])
def test_one_batch_gives_the_same_rows_and_outcomes_as_one_batch_per_item(
    client, auth, risk, engine, sequence
):
    together = send(client, auth, [variant(risk, "ONE", s) for s in sequence])
    apart: list[str | None] = []
    for spec in sequence:
        apart += send(client, auth, [variant(risk, "EACH", spec)])
    assert together == apart
    assert row(engine, "ONE") == row(engine, "EACH")
    # ... and the same as any split in two batches.
    for cut in range(1, len(sequence)):
        ident = f"CUT{cut}"
        first = send(client, auth, [variant(risk, ident, s) for s in sequence[:cut]])
        second = send(client, auth, [variant(risk, ident, s) for s in sequence[cut:]])
        assert first + second == apart
        assert row(engine, ident) == row(engine, "EACH")


def test_a_different_copy_in_the_same_batch_is_a_conflict_and_the_first_is_stored(
    client, auth, risk, engine
):
    a = risk.declaration(1)
    changed = {**a, "declared_value": 1.0}
    response = post(client, auth, [a, risk.declaration(2), changed, a])
    assert response.status_code == 202, response.json
    assert response.json["accepted_ids"] == ["D00001", "D00002"]  # each id once
    assert response.json["accepted"] == 3
    assert (response.json["stored"], response.json["duplicates"]) == (2, 1)
    [error] = response.json["errors"]
    assert error == {
        "index": 2,
        "field": "declaration_id",
        "reason": CONFLICT,
        "declaration_id": "D00001",
    }
    assert row(engine, "D00001")["declared_value"] == a["declared_value"]


def test_a_different_copy_in_a_later_batch_is_a_conflict_too(client, auth, risk, engine):
    a = risk.declaration(1)
    post(client, auth, [a])
    response = post(client, auth, [{**a, "trader_id": "OTHER"}, risk.declaration(2)])
    assert response.status_code == 202
    assert response.json["errors"][0]["reason"] == CONFLICT
    assert response.json["errors"][0]["index"] == 0
    assert response.json["accepted_ids"] == ["D00002"]
    assert row(engine, "D00001")["trader_id"] == "T1"
    again = post(client, auth, [{**a, "trader_id": "OTHER"}])
    assert again.status_code == 422  # nothing of the batch was accepted
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT n FROM trader_profile WHERE trader_id = 'T1'")).scalar() == 2
        )
        assert (
            conn.execute(
                text("SELECT count(*) FROM trader_profile WHERE trader_id = 'OTHER'")
            ).scalar()
            == 0
        )


def test_an_amendment_resent_without_its_time_is_a_duplicate(client, auth, risk, engine):
    post(client, auth, [risk.declaration(1)])
    amendment = risk.declaration(1, amendment_no=1, declared_value=6000.0)
    assert post(client, auth, [amendment]).json["amended"] == 1
    again = post(client, auth, [amendment])
    assert again.json["errors"] == [] and again.json["duplicates"] == 1
    stated = post(client, auth, [{**amendment, "amended_at": AMENDED_AT}])
    assert stated.json["errors"][0]["reason"] == CONFLICT


def test_within_a_batch_the_highest_amendment_applies(client, auth, risk, engine):
    items = [
        risk.declaration(1, amendment_no=2, declared_value=6000.0),
        risk.declaration(1),
        risk.declaration(1, amendment_no=1, declared_value=5000.0),
    ]
    response = post(client, auth, items)
    assert response.json["accepted_ids"] == ["D00001"] and response.json["errors"] == []
    stored = row(engine, "D00001")
    assert (stored["amendment_no"], stored["declared_value"]) == (2, 6000.0)


def test_save_declarations_reports_conflicts_by_position(risk, engine):
    valid, errors = parse_declarations(
        [risk.declaration(1), risk.declaration(1, declared_value=1.0)],
        TimePolicy(),
        RATES | {"CNY": 1.0},
    )
    assert not errors
    with raw_connection(engine) as conn:
        result = save_declarations(conn, [d.as_row("test", d.declared_at) for d in valid])
    assert (result.stored, result.duplicates) == (1, 0)
    assert [(r.position, r.declaration_id, r.field, r.reason) for r in result.rejected] == [
        (1, "D00001", "declaration_id", CONFLICT)
    ]


def test_a_declaration_id_with_a_slash_reads_back(client, auth, risk):
    post(client, auth, [risk.declaration(1, declaration_id="A/B-1")])
    response = client.get("/api/v1/risk/declarations/A/B-1", headers=auth)
    assert response.status_code == 200, response.json
    assert [i["declaration_id"] for i in response.json["items"]] == ["A/B-1"]


def test_the_import_command_reports_conflicting_lines(tmp_path, risk, settings, engine):
    import json

    from collector.risk.intake import import_declarations

    path = tmp_path / "declarations.ndjson"
    a = risk.declaration(1)
    lines = [a, risk.declaration(2), {**a, "declared_value": 1.0}, a]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    seen: list[str] = []
    summary = import_declarations(engine, settings, path, echo=seen.append)
    assert (summary.stored, summary.duplicates, summary.rejected) == (2, 1, 1)
    assert seen == [f"line 3: declaration_id: {CONFLICT}"]
