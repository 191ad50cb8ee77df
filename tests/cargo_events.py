"""Building events for tests and storing them through the collector's own ingest path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from collector.events import CargoEvent
from collector.store import SaveResult, save_events
from quaywatch.db import raw_connection

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


def ev(lot: str, kind: str, hours: float, site: str = "5304-SHEKOU", **attrs: object) -> CargoEvent:
    return CargoEvent.model_validate(
        {
            "event_id": f"{lot}-{kind}-{hours}",
            "kind": kind,
            "lot_id": lot,
            "site_id": site,
            "occurred_at": T0 + timedelta(hours=hours),
            **attrs,
        }
    )


def store(
    engine: Engine, events: list[CargoEvent], received_at: datetime | None = None
) -> SaveResult:
    with raw_connection(engine) as conn:
        return save_events(conn, [e.as_row("test", received_at or T0) for e in events])
