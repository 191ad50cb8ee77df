"""A national simulator of cargo events: realistic volumes, rhythms, delays and incidents.

Lots are generated per site and per day from a random generator seeded by (seed, site, day), so
the same seed always gives the same lots, whichever window is asked for: the live simulator can
pick up the lots a backfill left in progress. Stage times follow the time-release-study stages in
reference/customs-domain.md §3.2 (pre-declaration, customs, post-release), with inspections, lab
tests, customs holds, late and duplicated events, and scripted incidents (a lab backlog at one
port, a gate outage at another) that make hazardous detention build up until deadlines pass.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from collector.events import EventRow
from collector.org_hierarchy import OrgNode
from collector.sim_profiles import (
    HAZARD_CLASSES,
    HAZARD_P,
    HAZARD_SHARE,
    HAZARD_UN,
    HOUR_WEIGHTS,
    day_factor,
)

HOUR = 3600.0


@dataclass(frozen=True)
class Incident:
    """A scripted disruption at one site between two times."""

    kind: str  # "lab_backlog": inspections slow down and more go to the lab; "gate_outage"
    site_id: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class SimConfig:
    seed: int = 7
    scale: float = 1.0
    speed: float = 1.0  # live mode: arrivals x speed, stage durations / speed
    incidents: tuple[Incident, ...] = field(default_factory=tuple)


def default_incidents(anchor: datetime) -> tuple[Incident, ...]:
    """A lab backlog at Qingdao Qianwan and a gate outage at Yangshan in the days before anchor."""
    day = timedelta(days=1)
    return (
        Incident("lab_backlog", "4202-QIANWAN", anchor - 6 * day, anchor - 2 * day),
        Incident("gate_outage", "2201-YANGSHAN", anchor - 4 * day, anchor - 3 * day),
    )


def _lognormal(rng: np.random.Generator, median_h: float, sigma: float, n: int) -> np.ndarray:
    return np.asarray(median_h * HOUR * np.exp(sigma * rng.standard_normal(n)))


@dataclass
class DayLots:
    """One site-day of lots as arrays of epoch seconds (NaN where a stage never happens)."""

    site: OrgNode
    day: date
    arrived: np.ndarray
    declared: np.ndarray
    insp_start: np.ndarray
    insp_end: np.ndarray
    released: np.ndarray
    removed: np.ndarray
    held: np.ndarray
    lifted: np.ndarray
    hazard: list[str | None]
    un: list[str | None]
    export: np.ndarray
    teu: np.ndarray


def _rng(seed: int, site_id: str, day: date) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(site_id.encode()), day.toordinal()])


def lots_for_day(site: OrgNode, day: date, cfg: SimConfig) -> DayLots:
    rng = _rng(cfg.seed, site.node_id, day)
    n = int(rng.poisson(site.weight * cfg.scale * cfg.speed * day_factor(day)))
    kind = site.site_type or "SEA"
    local_midnight = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(site.timezone))
    hours = rng.choice(24, size=n, p=HOUR_WEIGHTS[kind]) + rng.random(n)
    arrived = local_midnight.timestamp() + np.sort(hours) * HOUR
    hazardous = rng.random(n) < HAZARD_SHARE[kind]
    classes = rng.choice(len(HAZARD_CLASSES), size=n, p=HAZARD_P)
    missing_un = rng.random(n) < 0.05
    hazard = [HAZARD_CLASSES[c] if h else None for c, h in zip(classes, hazardous, strict=True)]
    un = [
        HAZARD_UN[c] if h and not m else None
        for c, h, m in zip(classes, hazardous, missing_un, strict=True)
    ]
    slow = 1.0 / cfg.speed
    advance = rng.random(n) < 0.4
    declared = np.where(
        advance,
        arrived - rng.uniform(2, 48, n) * HOUR * slow,
        arrived + _lognormal(rng, 8, 1.34, n) * slow,
    )
    ready = np.maximum(arrived, declared)
    inspected = rng.random(n) < np.where(hazardous, 0.25, 0.04)
    insp_start = ready + _lognormal(rng, 2, 0.8, n) * slow
    duration = _lognormal(rng, 18, 0.7, n)
    lab = hazardous & (rng.random(n) < 0.3)
    for incident in cfg.incidents:
        if incident.kind == "lab_backlog" and incident.site_id == site.node_id:
            hit = (insp_start >= incident.start.timestamp()) & (
                insp_start < incident.end.timestamp()
            )
            duration = np.where(hit, duration * 4, duration)
            lab = lab | (hit & hazardous & (rng.random(n) < 0.8))
    duration = duration + np.where(lab, _lognormal(rng, 96, 0.35, n), 0.0)
    insp_end = insp_start + duration * slow
    held_mask = rng.random(n) < 0.005
    held = np.where(held_mask, ready + rng.uniform(0, 12, n) * HOUR * slow, np.nan)
    lifted = held + _lognormal(rng, 24, 0.6, n) * slow
    cleared = np.where(inspected, insp_end, ready)
    cleared = np.fmax(cleared, np.where(held_mask, lifted, -np.inf))
    released = cleared + _lognormal(rng, 0.5, 1.0, n) * slow
    removed = released + _lognormal(rng, 20, 1.0, n) * np.where(hazardous, 0.5, 1.0) * slow
    for incident in cfg.incidents:
        if incident.kind == "gate_outage" and incident.site_id == site.node_id:
            s, e = incident.start.timestamp(), incident.end.timestamp()
            stuck = (removed >= s) & (removed < e)
            removed = np.where(stuck, e + rng.uniform(0, 8, n) * HOUR, removed)
    return DayLots(
        site,
        day,
        arrived,
        declared,
        np.where(inspected, insp_start, np.nan),
        np.where(inspected, insp_end, np.nan),
        released,
        removed,
        held,
        np.where(held_mask, lifted, np.nan),
        hazard,
        un,
        rng.random(n) < 0.3,
        np.where(rng.random(n) < 0.6, 2.0, 1.0),
    )


_STAGES = (
    ("arrived", "arrived"),
    ("declared", "declared"),
    ("inspection_started", "insp_start"),
    ("inspection_finished", "insp_end"),
    ("held", "held"),
    ("hold_lifted", "lifted"),
    ("released", "released"),
    ("removed", "removed"),
)


@dataclass(frozen=True)
class EventPlan:
    """Every stage time of a site-day's lots with its reception delay, drawn once so the live
    simulator can cut windows out of it each tick without drawing again."""

    times: np.ndarray  # (stage, lot) epoch seconds, NaN where the stage never happens
    delay: np.ndarray
    twice: np.ndarray
    lot_ids: list[str]
    direction: list[str]


def plan_events(lots: DayLots, seed: int) -> EventPlan:
    """2% of events arrive late (median 30 min) and 0.5% are sent twice."""
    rng = _rng(seed + 1, lots.site.node_id, lots.day)
    shape = (len(_STAGES), len(lots.arrived))
    late = rng.random(shape) < 0.02
    twice = rng.random(shape) < 0.005
    delay = np.where(late, rng.lognormal(np.log(1800), 0.6, shape), rng.uniform(2, 60, shape))
    times = (
        np.vstack([getattr(lots, column) for _, column in _STAGES]) if shape[1] else np.empty(shape)
    )
    site = lots.site.node_id
    lot_ids = [f"{site}-{lots.day:%Y%m%d}-{i:05d}" for i in range(shape[1])]
    direction = ["export" if e else "import" for e in lots.export]
    return EventPlan(times, delay, twice, lot_ids, direction)


def rows_between(
    lots: DayLots, plan: EventPlan, until: float, after: float = -np.inf
) -> list[EventRow]:
    """The planned events that occurred in (after, until]."""
    site = lots.site.node_id
    rows: list[EventRow] = []
    stages, indexes = np.nonzero((plan.times > after) & (plan.times <= until))
    for s, i in zip(stages.tolist(), indexes.tolist(), strict=True):
        kind = _STAGES[s][0]
        at = float(plan.times[s, i])
        attrs = kind in ("arrived", "declared")
        row: EventRow = (
            f"{plan.lot_ids[i]}-{kind}",
            datetime.fromtimestamp(at, UTC),
            datetime.fromtimestamp(min(at + float(plan.delay[s, i]), until), UTC),
            site,
            plan.lot_ids[i],
            kind,
            plan.direction[i] if attrs else None,
            lots.hazard[i] if attrs else None,
            lots.un[i] if attrs else None,
            None,
            float(lots.teu[i]) if attrs else None,
            "sim",
        )
        rows.append(row)
        if plan.twice[s, i]:
            rows.append(row)
    return rows


def events_of(lots: DayLots, seed: int, until: float, after: float = -np.inf) -> list[EventRow]:
    """The lots' events that occurred in (after, until]."""
    return rows_between(lots, plan_events(lots, seed), until, after)


def simulate(
    sites: list[OrgNode],
    start: datetime,
    end: datetime,
    cfg: SimConfig,
    after: datetime | None = None,
) -> Iterator[list[EventRow]]:
    """Events that occurred in (after, end] (after defaults to start) for lots that arrived
    from `start` on, one site-day per list."""
    floor = (after or start).timestamp()
    for day in _days(start.date(), end.date()):
        for site in sites:
            batch = events_of(lots_for_day(site, day, cfg), cfg.seed, end.timestamp(), floor)
            if batch:
                yield batch


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
