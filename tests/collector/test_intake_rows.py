"""collector.events.intake_row: rows follow the COPY column lists, which name each column once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from collector.events import EVENT_COLUMNS, CargoEvent, intake_row

RECEIVED = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)


def test_an_event_row_holds_each_column_of_the_list_in_its_order():
    event = CargoEvent.model_validate(
        {
            "event_id": "e-1",
            "occurred_at": "2026-03-01T08:00:00Z",
            "site_id": "CNSHA-YS",
            "lot_id": "L-1",
            "kind": "arrived",
            "hazard_class": "3",
            "un_number": "UN1203",
            "teu": 2,
        }
    )

    row = event.as_row("push", RECEIVED)

    expected = {**event.model_dump(), "received_at": RECEIVED, "source": "push"}
    assert row == tuple(expected[c] for c in EVENT_COLUMNS)


def test_a_column_list_without_the_intake_columns_in_place_is_refused_at_once():
    with pytest.raises(ValueError, match="received_at must be third and source last"):
        intake_row(("event_id", "received_at", "occurred_at", "site_id", "source"))
