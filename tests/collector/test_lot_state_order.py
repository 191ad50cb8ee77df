"""Lot state is a function of the events seen, not of the order or batching they came in, and
it equals a reference fold of those events written here, independently of collector.lot_fold."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from cargo_events import T0, store
from collector.events import EVENT_KINDS, CargoEvent

OPTIONAL = {
    "direction": st.sampled_from(["import", "export"]),
    "hazard_class": st.sampled_from(["3", "8", "2.1", "5.1"]),
    "un_number": st.sampled_from(["UN1203", "UN1942", "UN1830"]),
    "packing_group": st.sampled_from(["I", "II", "III"]),
    "teu": st.sampled_from([1.0, 2.0]),
}
STATE = (
    "direction, hazard_class, un_number, packing_group, teu, arrived_at, declared_at,"
    " inspection_started_at, inspection_finished_at, released_at, removed_at, held_at,"
    " hold_lifted_at, stage, on_hold, limit_hours, deadline_at, warn_at, event_count"
)


@st.composite
def histories(draw: st.DrawFn) -> list[CargoEvent]:
    events = []
    for n in range(draw(st.integers(1, 14))):
        kind = draw(st.sampled_from(EVENT_KINDS))
        # Few distinct minutes, so equal timestamps (ties) and re-visits happen often.
        minute = draw(st.integers(0, 8))
        stated = draw(st.sets(st.sampled_from(sorted(OPTIONAL))))
        attrs = {name: draw(OPTIONAL[name]) for name in stated}
        events.append(
            CargoEvent.model_validate(
                {
                    "event_id": f"e{n}",
                    "kind": kind,
                    "lot_id": draw(st.sampled_from(["L1", "L2"])),
                    "site_id": draw(st.sampled_from(["5304-SHEKOU", "5304-CHIWAN"])),
                    "occurred_at": T0 + timedelta(minutes=minute),
                    **attrs,
                }
            )
        )
    return events


def reference_visits(events: Iterable[CargoEvent]) -> dict[tuple[str, str, int], dict[str, Any]]:
    """The documented rules, applied by replaying each lot's history in time order: a visit
    begins at an arrival or declaration whose nearest earlier arrival, declaration or removal
    is a removal; attributes come from the latest event stating them."""
    by_lot: dict[tuple[str, str], list[CargoEvent]] = {}
    for event in events:
        by_lot.setdefault((event.site_id, event.lot_id), []).append(event)
    visits: dict[tuple[str, str, int], dict[str, Any]] = {}
    for (site, lot), history in by_lot.items():
        history.sort(key=lambda e: (e.occurred_at, e.event_id))
        markers = [e for e in history if e.kind in ("arrived", "declared", "removed")]
        starts = [
            b
            for a, b in zip(markers, markers[1:], strict=False)
            if a.kind == "removed" and b.kind != "removed"
        ]
        for event in history:
            number = 1 + sum(
                (s.occurred_at, s.event_id) <= (event.occurred_at, event.event_id) for s in starts
            )
            state = visits.setdefault((site, lot, number), {"event_count": 0})
            state["event_count"] += 1
            for name in OPTIONAL:
                if getattr(event, name) is not None:
                    state[name] = getattr(event, name)  # later events come later: last wins
            column = f"{event.kind}_at"
            if event.kind in ("inspection_finished", "held", "hold_lifted"):
                state[column] = event.occurred_at  # the latest such event
            else:
                state.setdefault(column, event.occurred_at)  # the earliest such event
    return visits


def lot_rows(engine) -> dict[tuple[str, str, int], dict[str, Any]]:
    with engine.begin() as conn:
        rows = conn.execute(text(f"SELECT site_id, lot_id, visit_no, {STATE} FROM lot")).mappings()
        found = {(r["site_id"], r["lot_id"], r["visit_no"]): dict(r) for r in rows}
        conn.execute(text("TRUNCATE lot, cargo_event"))
    return found


def limit_for(engine, site: str, hazard_class: str, packing_group: str | None, arrived) -> Any:
    """The storage limit the database applies to such a lot (its own table is the oracle)."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO lot (site_id, lot_id, visit_no, hazard_class, packing_group, arrived_at)"
                " VALUES (:s, 'probe', 1, :h, :p, :a)"
            ),
            {"s": site, "h": hazard_class, "p": packing_group, "a": arrived},
        )
        limit = conn.execute(text("SELECT limit_hours FROM lot WHERE lot_id = 'probe'")).scalar()
        conn.execute(text("DELETE FROM lot WHERE lot_id = 'probe'"))
    return limit


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(events=histories(), data=st.data())
def test_shuffled_and_rebatched_delivery_gives_the_in_order_state(engine, events, data):
    in_order = sorted(events, key=lambda e: (e.occurred_at, e.event_id))
    store(engine, in_order)
    expected = lot_rows(engine)

    shuffled = data.draw(st.permutations(events))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(events)), max_size=3)))
    batches = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(events)], strict=True)]
    resent = data.draw(st.lists(st.sampled_from(events), max_size=3))
    for batch in [*batches, resent]:
        store(engine, batch)
    assert lot_rows(engine) == expected


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(events=histories(), data=st.data())
def test_every_visit_holds_the_hazard_facts_and_deadline_of_a_reference_fold(engine, events, data):
    shuffled = data.draw(st.permutations(events))
    cut = data.draw(st.integers(0, len(events)))
    store(engine, shuffled[:cut])
    store(engine, shuffled[cut:])
    stored = lot_rows(engine)
    reference = reference_visits(events)
    assert set(stored) == set(reference)
    for visit, state in reference.items():
        row = stored[visit]
        for name in (*OPTIONAL, "event_count", "arrived_at", "removed_at", "held_at"):
            assert row[name] == state.get(name), (visit, name)
        if row["hazard_class"] is None or row["arrived_at"] is None:
            assert row["deadline_at"] is None
            assert row["limit_hours"] is None
        else:
            limit = limit_for(
                engine, visit[0], row["hazard_class"], row["packing_group"], row["arrived_at"]
            )
            assert row["limit_hours"] == limit
            assert row["deadline_at"] == row["arrived_at"] + timedelta(hours=limit)
