"""Running the simulator: backfilling history through the ingest path, or feeding the HTTP API
live, and exporting the ground truth of hazardous-lot breaches for forecaster backtests."""

from __future__ import annotations

import csv
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import Engine, text

from collector.events import EVENT_COLUMNS, EventRow
from collector.org_hierarchy import OrgNode, read_org_nodes
from collector.rollup import backfill_metrics
from collector.simulator import (
    SimConfig,
    default_incidents,
    lots_for_day,
    plan_events,
    rows_between,
    simulate,
)
from collector.store import save_events
from quaywatch.db import raw_connection

log = logging.getLogger(__name__)
BATCH = 20_000


def sites() -> list[OrgNode]:
    return [node for node in read_org_nodes() if node.level == "site"]


@dataclass(frozen=True)
class BackfillResult:
    events: int
    stored: int
    metric_times: int
    seconds: float


def database_is_empty(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(text("SELECT NOT EXISTS (SELECT 1 FROM cargo_event)")).scalar() is True


def backfill(
    engine: Engine,
    days: int,
    cfg: SimConfig,
    end: datetime | None = None,
    metric_step: timedelta = timedelta(hours=1),
    progress: Callable[[int], None] | None = None,
) -> BackfillResult:
    """Simulate `days` days up to `end` into the database through collector.store, then compute
    the metrics for every step of that window. The incidents are placed relative to `end`."""
    began = time.perf_counter()
    end = (end or datetime.now(UTC)).replace(microsecond=0)
    start = end - timedelta(days=days)
    cfg = (
        cfg if cfg.incidents else SimConfig(cfg.seed, cfg.scale, cfg.speed, default_incidents(end))
    )
    received = stored = 0
    pending: list[EventRow] = []
    for batch in simulate(sites(), start, end, cfg):
        pending.extend(batch)
        if len(pending) >= BATCH:
            stored += _save(engine, pending)
            received += len(pending)
            if progress:
                progress(len(pending))
            pending = []
    if pending:
        stored += _save(engine, pending)
        received += len(pending)
        if progress:
            progress(len(pending))
    _remember(engine, cfg, end)
    metrics = backfill_metrics(engine, start + timedelta(days=1), end, metric_step)
    return BackfillResult(received, stored, metrics.times, time.perf_counter() - began)


def _save(engine: Engine, rows: list[EventRow]) -> int:
    with raw_connection(engine) as conn:
        return save_events(conn, rows).stored


def _remember(engine: Engine, cfg: SimConfig, anchor: datetime) -> None:
    """Record seed, scale and anchor so the live simulator continues the same lots."""
    detail = {"seed": cfg.seed, "scale": cfg.scale, "anchor": anchor.isoformat()}
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO job_state (name, watermark, detail) VALUES ('simulator', :w,"
                " CAST(:d AS jsonb)) ON CONFLICT (name) DO UPDATE SET watermark = EXCLUDED.watermark,"
                " detail = EXCLUDED.detail, updated_at = now()"
            ),
            {"w": anchor, "d": json.dumps(detail)},
        )


def remembered_config(engine: Engine, default: SimConfig) -> tuple[SimConfig, datetime | None]:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT detail FROM job_state WHERE name = 'simulator'")).first()
    if row is None:
        return default, None
    anchor = datetime.fromisoformat(row[0]["anchor"])
    cfg = SimConfig(row[0]["seed"], row[0]["scale"], default.speed, default_incidents(anchor))
    return cfg, anchor


def write_ground_truth(engine: Engine, path: Path) -> int:
    """CSV of every hazardous lot with its deadline and when (if ever) it breached it."""
    sql = text("""
        SELECT lot_id, site_id, hazard_class, arrived_at, deadline_at, removed_at,
               CASE WHEN deadline_at < coalesce(removed_at, 'infinity') THEN deadline_at END
        FROM lot WHERE hazard_class IS NOT NULL AND deadline_at IS NOT NULL ORDER BY arrived_at""")
    with engine.connect() as conn, path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                "lot_id",
                "site_id",
                "hazard_class",
                "arrived_at",
                "deadline_at",
                "removed_at",
                "breached_at",
            ]
        )
        count = 0
        for row in conn.execute(sql):
            writer.writerow([v.isoformat() if isinstance(v, datetime) else (v or "") for v in row])
            count += 1
    return count


class LiveSimulator:
    """Posts simulated events to the HTTP API as their time comes, in batches every tick."""

    def __init__(
        self,
        api_url: str,
        token: str,
        cfg: SimConfig,
        anchor: datetime | None,
        history_days: int = 14,
        tick_s: float = 2.0,
    ) -> None:
        self.api_url = api_url.rstrip("/") + "/api/v1/events"
        self.token = token
        self.cfg = cfg
        self.anchor = anchor
        self.history_days = history_days
        self.tick_s = tick_s
        self.posted = 0
        self.failures = 0
        self._stop = threading.Event()
        self._cache: dict[tuple[str, Any], Any] = {}
        self._session = requests.Session()
        self._sites = sites()

    def stop(self) -> None:
        self._stop.set()

    def run(self, after: datetime) -> None:
        last = after
        while not self._stop.wait(self.tick_s):
            now = datetime.now(UTC)
            rows = self._events_between(last, now)
            if rows and not self._post(rows):
                continue  # keep `last`: the same window is retried next tick
            last = now

    def _events_between(self, after: datetime, until: datetime) -> list[EventRow]:
        first_day = (until - timedelta(days=self.history_days)).date()
        # Days that slid out of the window cannot produce events any more.
        for key in [key for key in self._cache if key[1] < first_day]:
            del self._cache[key]
        rows: list[EventRow] = []
        for site in self._sites:
            day = first_day
            while day <= until.date():
                key = (site.node_id, day)
                if key not in self._cache:
                    lots = lots_for_day(site, day, self.cfg)
                    self._cache[key] = (lots, plan_events(lots, self.cfg.seed))
                lots, plan = self._cache[key]
                rows.extend(rows_between(lots, plan, until.timestamp(), after.timestamp()))
                day += timedelta(days=1)
        return rows

    def _post(self, rows: list[EventRow]) -> bool:
        body = [
            {
                k: (v.isoformat() if isinstance(v, datetime) else v)
                for k, v in zip(EVENT_COLUMNS, row, strict=True)
                if v is not None and k not in ("received_at", "source")
            }
            for row in rows
        ]
        for start in range(0, len(body), 5000):
            try:
                response = self._session.post(
                    self.api_url,
                    json=body[start : start + 5000],
                    timeout=30,
                    headers={"Authorization": f"Bearer {self.token}"},
                )
            except requests.RequestException as exc:
                self.failures += 1
                log.warning("live simulator: API unreachable (%s)", type(exc).__name__)
                return False
            if response.status_code >= 500:
                self.failures += 1
                return False
            self.posted += len(body[start : start + 5000])
        return True
