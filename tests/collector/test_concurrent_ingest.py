"""Derived state equals a fold of the stored events while several writers push at once, on
real concurrent database connections."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import text

from cargo_events import T0
from collector.events import EventRow
from collector.lot_fold import fold
from collector.store import SaveResult, save_events
from quaywatch.db import raw_connection

SITES = ("5304-SHEKOU", "5304-CHIWAN")
KINDS = ("arrived", "declared", "released", "removed", "arrived", "held")


def rows(first: int, count: int) -> list[EventRow]:
    out: list[EventRow] = []
    for n in range(first, first + count):
        kind = KINDS[n % len(KINDS)]
        hazard = "3" if n % 3 == 0 else None
        out.append(
            (
                f"e{n}",
                T0 + timedelta(minutes=n % 97),
                T0,
                SITES[n % 2],
                f"lot-{n % 50}",
                kind,
                None,
                hazard,
                None,
                None,
                None,
                "test",
            )
        )
    return out


def push_together(engine, batches: list[list[EventRow]]) -> list[SaveResult]:
    start = threading.Barrier(len(batches))
    results: list[SaveResult | BaseException] = [RuntimeError("not run")] * len(batches)

    def push(i: int) -> None:
        try:
            start.wait()
            with raw_connection(engine) as conn:
                results[i] = save_events(conn, batches[i])
        except BaseException as exc:  # reported below, in the test's thread
            results[i] = exc

    threads = [threading.Thread(target=push, args=(i,)) for i in range(len(batches))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results  # type: ignore[return-value]


def stored_state(engine) -> tuple[dict, dict]:
    with engine.connect() as conn:
        events = [tuple(r) for r in conn.execute(text("SELECT event_id, occurred_at, received_at,"
                  " site_id, lot_id, kind, direction, hazard_class, un_number, packing_group, teu,"
                  " source FROM cargo_event"))]  # fmt: skip
        lots = {
            (r[0], r[1], r[2]): (r[3], r[4], r[5])
            for r in conn.execute(
                text("SELECT site_id, lot_id, visit_no, event_count, hazard_class, stage FROM lot")
            )
        }
    return {e[:2] + (e[3],): e for e in events}, lots


def refolded(events: dict) -> dict:
    out = {}
    for visit in fold(events.values()):
        times = visit.times
        stage = next(
            (s for s, c in (("removed", "removed_at"), ("released", "released_at"),
             ("declared", "declared_at"), ("arrived", "arrived_at")) if c in times),
            "unknown",
        )  # fmt: skip
        hazard = visit.attributes.get("hazard_class", (None,))[0]
        out[(visit.site_id, visit.lot_id, visit.visit_no)] = (visit.event_count, hazard, stage)
    return out


def test_a_resend_racing_the_first_send_counts_every_event_once(engine):
    for round_no in range(3):
        base = round_no * 2000
        stored_before = rows(base, 300)
        with raw_connection(engine) as conn:
            save_events(conn, stored_before)
        new = rows(base + 300, 1000)
        results = push_together(engine, [new, stored_before + new])
        assert sum(r.stored for r in results) == 1000
        assert sum(r.duplicates for r in results) == 300 + 1000
        events, lots = stored_state(engine)
        assert len(events) == 1300 * (round_no + 1)
        assert lots == refolded(events)


def test_four_writers_of_overlapping_lots_leave_the_fold_of_what_they_stored(engine):
    batches = [rows(i * 400, 400) for i in range(4)]
    push_together(engine, batches)
    events, lots = stored_state(engine)
    assert len(events) == 1600
    assert lots == refolded(events)
