"""Lot state is a function of the events seen, not of the order or batching they came in."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from cargo_events import T0, store
from collector.events import CargoEvent

KINDS = [
    "arrived",
    "declared",
    "inspection_started",
    "inspection_finished",
    "released",
    "removed",
    "held",
    "hold_lifted",
]
COLUMNS = (
    "site_id, direction, hazard_class, un_number, arrived_at, declared_at,"
    " inspection_started_at, inspection_finished_at, released_at, removed_at, held_at,"
    " hold_lifted_at, stage, on_hold, deadline_at, warn_at, event_count"
)


@st.composite
def histories(draw: st.DrawFn) -> list[CargoEvent]:
    events = []
    for n in range(draw(st.integers(1, 12))):
        lot = draw(st.sampled_from(["L1", "L2", "L3"]))
        kind = draw(st.sampled_from(KINDS))
        # Few distinct minutes, so equal timestamps (ties) happen often.
        minute = draw(st.integers(0, 5))
        attrs = {}
        if kind in ("arrived", "declared") and draw(st.booleans()):
            attrs = {
                "hazard_class": draw(st.sampled_from(["3", "8", "2.1"])),
                "direction": draw(st.sampled_from(["import", "export"])),
            }
        site = draw(st.sampled_from(["5304-SHEKOU", "5304-CHIWAN"]))
        events.append(
            CargoEvent.model_validate(
                {
                    "event_id": f"e{n}",
                    "kind": kind,
                    "lot_id": lot,
                    "site_id": site,
                    "occurred_at": T0 + timedelta(minutes=minute),
                    **attrs,
                }
            )
        )
    return events


def lot_states(engine) -> list[tuple[object, ...]]:
    with engine.begin() as conn:
        rows = conn.execute(text(f"SELECT lot_id, {COLUMNS} FROM lot ORDER BY lot_id")).all()
        conn.execute(text("TRUNCATE lot, cargo_event"))
    return [tuple(row) for row in rows]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(events=histories(), data=st.data())
def test_shuffled_and_rebatched_delivery_gives_the_in_order_state(engine, events, data):
    in_order = sorted(events, key=lambda e: (e.occurred_at, e.event_id))
    store(engine, in_order)
    expected = lot_states(engine)

    shuffled = data.draw(st.permutations(events))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(events)), max_size=3)))
    batches = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(events)], strict=True)]
    resent = data.draw(st.lists(st.sampled_from(events), max_size=3))
    for batch in [*batches, resent]:
        store(engine, batch)
    assert lot_states(engine) == expected
