"""Running the simulator: backfilling history through the ingest paths, or feeding the HTTP API
live (cargo events and declarations), and exporting the ground truth of hazardous-lot breaches
for forecaster backtests."""

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
from collector.risk.simulation.simulator import RiskSimConfig
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
DAY = timedelta(days=1)
# The span a backfill computes at its full step whatever `older_step` says: what the dashboards
# draw from minute points (docs/dashboards.md) and what the alert rules look back on.
RECENT = timedelta(days=2)
# Metric times per backfill_metrics call: two of its batches of 12, one for each of its workers.
CHUNK = 24


def sites() -> list[OrgNode]:
    return [node for node in read_org_nodes() if node.level == "site"]


@dataclass(frozen=True)
class BackfillResult:
    events: int
    stored: int
    metric_times: int
    seconds: float
    declarations: int = 0


@dataclass(frozen=True)
class Progress:
    """Callbacks a caller may show: events stored, then metric times computed (each call gives
    how many more), after the number of metric times to come."""

    events: Callable[[int], None] | None = None
    metrics: Callable[[int], None] | None = None
    metric_total: Callable[[int], None] | None = None


def database_is_empty(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(text("SELECT NOT EXISTS (SELECT 1 FROM cargo_event)")).scalar() is True


def backfill(
    engine: Engine,
    days: int,
    cfg: SimConfig,
    end: datetime | None = None,
    metric_step: timedelta = timedelta(hours=1),
    progress: Callable[[int], None] | Progress | None = None,
    risk: RiskSimConfig | None = None,
    older_step: timedelta | None = None,
) -> BackfillResult:
    """Simulate `days` days up to `end` into the database through collector.store, then compute
    the metrics for every step of that window. The incidents are placed relative to `end`. With
    `risk`, the risk simulator's declarations (ending at `end`) are stored and screened too; with
    `older_step`, the metrics of days before the last two are computed at that coarser step."""
    began = time.perf_counter()
    shown = progress if isinstance(progress, Progress) else Progress(events=progress)
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
            if shown.events:
                shown.events(len(pending))
            pending = []
    if pending:
        stored += _save(engine, pending)
        received += len(pending)
        if shown.events:
            shown.events(len(pending))
    _remember(engine, cfg, end)
    declared = _declare(engine, risk, end) if risk else 0
    _analyze(engine)
    times = _metrics(engine, start + DAY, end, metric_step, shown, older_step)
    return BackfillResult(received, stored, times, time.perf_counter() - began, declared)


def _metrics(
    engine: Engine,
    since: datetime,
    until: datetime,
    step: timedelta,
    shown: Progress,
    older_step: timedelta | None = None,
) -> int:
    """backfill_metrics CHUNK times at a time, so that a caller can show how far it is; with
    `older_step`, days before the last RECENT at that coarser step."""
    boundary = max(since, until - RECENT) if older_step else since
    spans = [(since, boundary - step, older_step or step), (boundary, until, step)]
    spans = [(a, b, s) for a, b, s in spans if a <= b]
    if shown.metric_total:
        shown.metric_total(sum(int((b - a) / s) + 1 for a, b, s in spans))
    times = 0
    for first, last_of_span, every in spans:
        at = first
        while at <= last_of_span:
            # Each call includes both ends: stop one step before the next chunk's first time.
            last = min(at + (CHUNK - 1) * every, last_of_span)
            done = backfill_metrics(engine, at, last, every).times
            times += done
            if shown.metrics:
                shown.metrics(done)
            at = last + every
    return times


def _analyze(engine: Engine) -> None:
    """Refresh the planner's statistics of what the ingest just wrote. Autovacuum samples the
    tables while they fill, so the metrics would otherwise be planned for a few hundred lots per
    site: a nested loop that reads each site's lots once per source and batch (measured: 7.7 s
    of an 11 s statement, against 0.35 s with fresh statistics)."""
    with engine.begin() as conn:
        conn.execute(text("ANALYZE lot, cargo_event, declaration, risk_review, org_node, series"))


def _declare(engine: Engine, risk: RiskSimConfig, end: datetime) -> int:
    """Store (and so screen) the risk simulator's run: its references for the live traffic."""
    from collector.risk.simulation.simulator import generate
    from collector.risk.store import save_declarations

    run = generate(risk, end)
    for first in range(0, len(run.items), 5000):
        with raw_connection(engine) as conn:
            save_declarations(
                conn, [d.as_row("sim", d.arrival) for d in run.items[first : first + 5000]]
            )
    return len(run.items)


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


class LiveDeclarations:
    """The risk simulator's world declaring live: `per_hour` declarations at random times, with
    its anomalies injected at its rate per kind, so the risk queue fills as the events flow."""

    def __init__(self, cfg: RiskSimConfig, per_hour: float, started: datetime) -> None:
        from collector.risk.simulation.anomalies import amenders
        from collector.risk.simulation.simulator import _World

        # The same seed gives the traders and products a backfill declared, so their usual
        # traffic is not novel; ids carry the start time so a restart never reuses one.
        self.world = _World(cfg, started)
        self.world.amender_ids = amenders(self.world)
        self.per_hour = per_hour
        self.prefix = f"LIVE{started:%Y%m%d%H%M%S}-"
        self._due = 0.0

    def between(self, after: datetime, until: datetime) -> list[dict[str, Any]]:
        from collector.risk.simulation.simulator import SimRun, _drain, _times, _traffic

        # A fractional carry rather than a random count keeps the rate exact at short ticks.
        self._due += self.per_hour * max(0.0, (until - after).total_seconds()) / 3600
        count = int(self._due)
        self._due -= count
        _traffic(self.world, _times(self.world.rng, count, after, until), SimRun([], {}))
        return [
            {**d.as_json(), "declaration_id": self.prefix + d.declaration_id}
            for d in _drain(self.world)
        ]


class LiveSimulator:
    """Posts simulated events (and declarations) to the HTTP API as their time comes, in batches
    every tick."""

    def __init__(
        self,
        api_url: str,
        token: str,
        cfg: SimConfig,
        anchor: datetime | None,
        history_days: int = 14,
        tick_s: float = 2.0,
        declarations_per_hour: float = 360.0,
    ) -> None:
        self.base_url = api_url.rstrip("/")
        self.token = token
        self.cfg = cfg
        self.anchor = anchor
        self.history_days = history_days
        self.tick_s = tick_s
        self.posted = 0
        self.declarations_posted = 0
        self.failures = 0
        self._declarations = (
            LiveDeclarations(RiskSimConfig(), declarations_per_hour * cfg.speed, datetime.now(UTC))
            if declarations_per_hour > 0
            else None
        )
        self._pending: list[dict[str, Any]] = []
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
            self._declare(last, now)
            last = now

    def _declare(self, after: datetime, until: datetime) -> None:
        if self._declarations is None:
            return
        self._pending.extend(self._declarations.between(after, until))
        if self._pending and self._send("/api/v1/declarations", self._pending):
            self.declarations_posted += len(self._pending)
            self._pending = []  # else kept: sent again with the next tick's

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
            if not self._send("/api/v1/events", body[start : start + 5000]):
                return False
            self.posted += len(body[start : start + 5000])
        return True

    def _send(self, path: str, body: list[dict[str, Any]]) -> bool:
        try:
            response = self._session.post(
                self.base_url + path,
                json=body,
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
        return True
