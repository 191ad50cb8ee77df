"""How a lot's events fold into its state: the one definition, used by every ingest path.

A lot is one visit of a container or consignment (the station's `lot_id`) at one site. Events
are ordered by their stamp, (occurred_at, event_id), so ties are decided the same way
everywhere. A visit begins with an *opening* event (an arrival, or a declaration made ahead of
arrival) that follows a removal; every other event belongs to the visit in progress at its time,
so a late-stamped release after a removal stays with the visit it ends. Within one visit every
opening therefore precedes every removal.

Each field merges commutatively: stage times by min (first arrival, declaration, inspection
start, release, removal) or max (last inspection finish, hold, hold lifted); each attribute
(direction, hazard class, UN number, packing group, TEU) by the latest event that *states* it.
An event that omits a field says nothing about it: absence never erases. The state is
therefore a function of the set of events, whatever order or batches they came in.

`fold` builds a lot's visits from all of its events: the definition, and what a refold runs.
Ingest (collector/lot_store.py) merges each batch into the stored visits in SQL by the same rules,
and hands a lot back to `fold` when a batch moves where its visits begin.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from collector.events import EventRow

Stamp = tuple[datetime, str]
Key = tuple[str, str]  # (site_id, lot_id)

OPENING_KINDS = frozenset({"arrived", "declared"})
ATTRIBUTES = ("direction", "hazard_class", "un_number", "packing_group", "teu")
# Stage columns and whether the earliest (min) or the latest (max) such event sets them.
FIRST_TIMES = {
    "arrived": "arrived_at",
    "declared": "declared_at",
    "inspection_started": "inspection_started_at",
    "released": "released_at",
    "removed": "removed_at",
}
LAST_TIMES = {
    "inspection_finished": "inspection_finished_at",
    "held": "held_at",
    "hold_lifted": "hold_lifted_at",
}
STAGE_TIMES = (*FIRST_TIMES.values(), *LAST_TIMES.values())


# Positions in an EventRow are those of collector.events.EVENT_COLUMNS.
def stamp(row: EventRow) -> Stamp:
    return (row[1], row[0])


def key(row: EventRow) -> Key:
    return (row[3], row[4])


def _attributes(row: EventRow) -> tuple[tuple[str, Any], ...]:
    return (
        ("direction", row[6]),
        ("hazard_class", row[7]),
        ("un_number", row[8]),
        ("packing_group", row[9]),
        ("teu", row[10]),
    )


@dataclass
class Visit:
    """One visit's state, or a batch's increment to it (same shape, merged the same way)."""

    site_id: str
    lot_id: str
    visit_no: int
    opened: Stamp | None = None
    last_opening: Stamp | None = None
    first_removal: Stamp | None = None
    first_event_at: datetime | None = None
    last_event_at: datetime | None = None
    attributes: dict[str, tuple[Any, Stamp]] = field(default_factory=dict)
    times: dict[str, datetime] = field(default_factory=dict)
    event_count: int = 0

    def add(self, row: EventRow) -> None:
        at, kind = row[1], row[5]
        here = stamp(row)
        self.event_count += 1
        self.first_event_at = at if self.first_event_at is None else min(self.first_event_at, at)
        self.last_event_at = at if self.last_event_at is None else max(self.last_event_at, at)
        if kind in OPENING_KINDS and (self.last_opening is None or here > self.last_opening):
            self.last_opening = here
        if kind == "removed" and (self.first_removal is None or here < self.first_removal):
            self.first_removal = here
        for name, value in _attributes(row):
            if value is not None:
                known = self.attributes.get(name)
                if known is None or here > known[1]:
                    self.attributes[name] = (value, here)
        if kind in FIRST_TIMES:
            column = FIRST_TIMES[kind]
            self.times[column] = min(self.times.get(column, at), at)
        elif kind in LAST_TIMES:
            column = LAST_TIMES[kind]
            self.times[column] = max(self.times.get(column, at), at)


def fold(rows: Iterable[EventRow]) -> list[Visit]:
    """All visits of the keys in `rows`, from all of their events (any order)."""
    by_key: dict[Key, list[EventRow]] = {}
    for row in rows:
        by_key.setdefault(key(row), []).append(row)
    visits: list[Visit] = []
    for (site_id, lot_id), events in by_key.items():
        events.sort(key=stamp)
        current = Visit(site_id, lot_id, 1)
        visits.append(current)
        removed = False
        for row in events:
            kind = row[5]
            if kind in OPENING_KINDS and removed:
                current = Visit(site_id, lot_id, current.visit_no + 1, opened=stamp(row))
                visits.append(current)
            if kind in OPENING_KINDS or kind == "removed":
                removed = kind == "removed"
            current.add(row)
    return visits
