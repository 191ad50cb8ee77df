"""``quaywatch backtest``'s deadline part: replay held hazardous lots hour by hour and score
breach warnings against what happened, side by side with the static rules operators use.

Protocol (the issue's Goal is measured here):

- test window: the last ``test_days`` of the data; lots whose deadline falls inside it, so
  every outcome is known (breach = still at the site at the deadline);
- the dwell model learns only from lots removed in the ``train_days`` before the window;
- every ``step_hours`` each lot still held and not past its deadline is scored
  (``lot_risk.score_held``: stage-conditioned, optionally stretched by the site congestion
  that Prophet forecast at the latest origin before that hour); the model warns the first time
  P(breach) >= p;
- static rules: ``warn_at`` from the storage limit's ``warn_fraction`` (warn when that share of
  the allowed dwell has elapsed, as operators do today) and "12 h before the deadline" (the
  shipped deadline rule);
- scored with ``scoring.score_deadline_warnings`` (a warning counts only while the lot is
  held and before the breach).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Engine, text

from forecaster.backtest.scoring import HOUR, Score, median_lead_gain, score_deadline_warnings
from forecaster.breach import lot_risk
from forecaster.breach.storage_deadlines import DwellModel, fit_dwell
from forecaster.prophet.batch import FAST_CONFIG, fit_many
from forecaster.series import forecastable_series, hour_floor, load_histories, rows_frame

STATIC = "static: warn_fraction of the limit"
STATIC_12H = "static: 12 h before deadline"
FRACTIONS = (0.5, 0.6, 0.8, 0.9)  # other shares of the limit, to show the static trade-off


@dataclass(frozen=True)
class DeadlineReplay:
    test_days: int = 7
    train_days: int = 28
    step_hours: int = 1
    probabilities: tuple[float, ...] = (0.3, 0.5, 0.7, 0.8, 0.9)
    congestion_step_hours: int = 6
    window_hours: int = 28 * 24
    workers: int = 2


@dataclass(frozen=True)
class Goal:
    """The issue's Goal on one scope: the model variant with the longest median lead among
    those at least as precise as the static rule.

    "Warnings come at least 4 h earlier (median)" is read per breach: the median over breaches
    both caught of (model lead - static lead), ``paired_gain_hours``. The difference of the two
    median leads, ``gain_hours``, is reported too: it compares different lots when the limits
    differ (a 240 h limit gives the static rule a 72 h lead), and can disagree.
    """

    method: str
    static_precision: float
    precision: float
    static_lead_hours: float
    lead_hours: float
    paired_gain_hours: float

    @property
    def gain_hours(self) -> float:
        return self.lead_hours - self.static_lead_hours

    @property
    def met(self) -> bool:
        return self.precision >= self.static_precision and self.paired_gain_hours >= 4.0

    @property
    def met_on_medians(self) -> bool:
        return self.precision >= self.static_precision and self.gain_hours >= 4.0


_LOTS_SQL = f"""
SELECT {lot_risk.LOT_COLUMNS}, warn_at
FROM lot
WHERE hazard_class IS NOT NULL AND deadline_at > :t0 AND deadline_at <= :t1 AND arrived_at < :t1
"""


def lots_in_window(engine: Engine, t0: datetime, t1: datetime) -> pd.DataFrame:
    columns = [c.strip() for c in lot_risk.LOT_COLUMNS.split(",")] + ["warn_at"]
    with engine.connect() as conn:
        rows = conn.execute(text(_LOTS_SQL), {"t0": t0, "t1": t1}).all()
    lots = rows_frame(rows, columns)
    for column in columns[3:]:
        lots[column] = pd.to_datetime(lots[column], utc=True)
    return lots


def events_end(engine: Engine) -> datetime:
    with engine.connect() as conn:
        latest = conn.execute(text("SELECT max(occurred_at) FROM cargo_event")).scalar()
    if latest is None:
        raise ValueError("no cargo events: nothing to replay")
    return hour_floor(latest)


def model_warnings(
    lots: pd.DataFrame,
    model: DwellModel,
    checks: Sequence[pd.Timestamp],
    probabilities: Sequence[float],
    congestion: pd.DataFrame | None = None,
) -> dict[float, pd.Series]:
    """First check time with P(breach) >= p per lot, for each p (NaT: never)."""
    first = {
        p: pd.Series(pd.NaT, index=lots["lot_id"], dtype="datetime64[ns, UTC]")
        for p in probabilities
    }
    removed = lots["removed_at"]
    for t in checks:
        held = lots[
            (lots["arrived_at"] <= t) & (removed.isna() | (removed > t)) & (lots["deadline_at"] > t)
        ]
        if held.empty:
            continue
        factors = _factors_at(congestion, t)
        scored = lot_risk.score_held(held, model, t, factors).set_index("lot_id")
        for p, warned in first.items():
            hits = scored.index[(scored["breach_probability"] >= p).to_numpy()]
            new = hits[warned.reindex(hits).isna().to_numpy()]
            warned.loc[new] = t
    return first


def _factors_at(congestion: pd.DataFrame | None, t: pd.Timestamp) -> pd.Series | None:
    """Each site's factor from the newest forecast available at ``t``."""
    if congestion is None or congestion.empty:
        return None
    known = congestion[congestion["available_at"] <= t]
    if known.empty:
        return None
    latest = known.sort_values("available_at").groupby("site_id").last()
    return latest["factor"]


def congestion_history(
    engine: Engine,
    sites: Sequence[str],
    t0: datetime,
    t1: datetime,
    replay: DeadlineReplay,
) -> pd.DataFrame:
    """``site_id, available_at, factor``: the congestion factor from Prophet forecasts made
    every ``congestion_step_hours`` in the window (as the live cycle would have seen them)."""
    since = t0 - timedelta(hours=replay.window_hours)
    with engine.connect() as conn:
        keys = forecastable_series(
            conn, since, t1, min_points=72, nodes=sites, indicators=[lot_risk.QUEUE, lot_risk.FLOW]
        )
        histories = {
            (k.node_id, k.indicator_code): h for k, h in load_histories(conn, keys, since, t1)
        }
    offsets = {k.node_id: k.timezone for k in keys}
    origins = utc_range(t0, t1, replay.congestion_step_hours)
    windows: dict[tuple[str, str, pd.Timestamp], pd.DataFrame] = {}
    for (site, code), history in histories.items():
        local = pd.Series(origins).dt.tz_convert(offsets[site]).dt.tz_localize(None).tolist()
        for origin, local_origin in zip(origins, local, strict=True):
            span = history[
                (history["ds"] < local_origin)
                & (history["ds"] >= local_origin - replay.window_hours * HOUR)
            ]
            if len(span) >= FAST_CONFIG.min_history_points:
                windows[(site, code, origin)] = span
    results = fit_many(iter(windows.items()), FAST_CONFIG, replay.workers, horizon_hours=24)
    rows = []
    for site in sorted({s for s, _, _ in windows}):
        for origin in origins:
            fc = {c: results.get((site, c, origin)) for c in (lot_risk.QUEUE, lot_risk.FLOW)}
            if any(r is None or r.forecast is None for r in fc.values()):
                continue
            hist = {(site, c): windows[(site, c, origin)] for c in fc}
            forecasts = {
                (site, c): r.forecast for c, r in fc.items() if r and r.forecast is not None
            }
            factor = lot_risk.site_congestion(forecasts, hist).get(site, 1.0)
            rows.append((site, origin, float(factor)))
    return pd.DataFrame(rows, columns=["site_id", "available_at", "factor"])


def static_warnings(lots: pd.DataFrame) -> dict[str, pd.Series]:
    """The configured static rule, the shipped 12 h rule, and other fixed shares of the limit."""
    index = lots["lot_id"]
    out = {
        STATIC: pd.Series(lots["warn_at"].to_numpy(), index=index),
        STATIC_12H: pd.Series((lots["deadline_at"] - 12 * HOUR).to_numpy(), index=index),
    }
    allowed = lots["deadline_at"] - lots["arrived_at"]
    for share in FRACTIONS:
        warn = lots["arrived_at"] + share * allowed
        out[f"static: {share:.0%} of the limit"] = pd.Series(warn.to_numpy(), index=index)
    return out


def score_scope(
    lots: pd.DataFrame, warnings: dict[str, pd.Series], site_weeks: float
) -> list[Score]:
    truth = lots.assign(released_at=lots["removed_at"])
    scoped = {name: w.reindex(lots["lot_id"]) for name, w in warnings.items()}
    return score_deadline_warnings(truth, scoped, site_weeks=site_weeks)


def goal(
    lots: pd.DataFrame, warnings: dict[str, pd.Series], scores: Sequence[Score]
) -> Goal | None:
    """Best model variant at or above the static rule's precision (None: none is)."""
    by_name = {s.method: s for s in scores}
    static = by_name[STATIC]
    able = [s for s in scores if s.method.startswith("model") and s.precision >= static.precision]
    if not able or np.isnan(static.median_lead_hours):
        return None
    best = max(able, key=lambda s: (s.median_lead_hours, s.precision))
    truth = lots.assign(released_at=lots["removed_at"])
    scoped = {n: w.reindex(lots["lot_id"]) for n, w in warnings.items()}
    paired = median_lead_gain(truth, scoped, best.method, STATIC)
    return Goal(
        best.method,
        static.precision,
        best.precision,
        static.median_lead_hours,
        best.median_lead_hours,
        paired,
    )


def utc_range(t0: datetime, t1: datetime, step_hours: int) -> list[pd.Timestamp]:
    """Hours from ``t0`` to ``t1`` every ``step_hours`` as UTC timestamps (the database hands
    back ``Etc/UTC`` zones, which pandas will not mix with ``UTC``)."""
    start, stop = (pd.Timestamp(t).tz_convert("UTC") for t in (t0, t1))
    return list(pd.date_range(start, stop, freq=pd.Timedelta(hours=step_hours)))


def train_model(engine: Engine, t0: datetime, train_days: int) -> DwellModel:
    with engine.connect() as conn:
        stays = lot_risk.completed_stays(conn, t0 - timedelta(days=train_days), t0)
    return fit_dwell(stays)


@dataclass(frozen=True)
class DeadlineReport:
    scope: str
    lots: int
    breaches: int
    scores: list[Score]
    goal: Goal | None


def run(
    engine: Engine,
    replay: DeadlineReplay,
    *,
    incident_sites: Sequence[str] = (),
    end: datetime | None = None,
) -> list[DeadlineReport]:
    """Scores for every lot ("all"), the incident sites together ("incidents") and each one.

    Congestion needs Prophet fits per site and origin, so it is replayed for the incident
    sites only; the "all" scope compares the model without it to the static rules.
    """
    t1 = end or events_end(engine)
    t0 = t1 - timedelta(days=replay.test_days)
    lots = lots_in_window(engine, t0, t1)
    model = train_model(engine, t0, replay.train_days)
    checks = utc_range(t0, t1, replay.step_hours)
    warnings = static_warnings(lots)
    for p, warned in model_warnings(lots, model, checks, replay.probabilities).items():
        warnings[f"model p>={p:g}"] = warned
    plain = dict(warnings)
    if incident_sites:
        factors = congestion_history(engine, incident_sites, t0, t1, replay)
        local = lots[lots["site_id"].isin(incident_sites)]
        for p, warned in model_warnings(
            local, model, checks, replay.probabilities, factors
        ).items():
            warnings[f"model+congestion p>={p:g}"] = warned
    weeks = replay.test_days / 7
    reports = [_report("all", lots, plain, lots["site_id"].nunique() * weeks)]
    if incident_sites:
        scopes = [("incidents", list(incident_sites))] + [(s, [s]) for s in incident_sites]
        for name, sites in scopes:
            part = lots[lots["site_id"].isin(sites)]
            reports.append(_report(name, part, warnings, len(sites) * weeks))
    return reports


def _report(
    scope: str, lots: pd.DataFrame, warnings: dict[str, pd.Series], weeks: float
) -> DeadlineReport:
    scores = score_scope(lots, warnings, weeks)
    breaches = int((lots["removed_at"].isna() | (lots["removed_at"] > lots["deadline_at"])).sum())
    return DeadlineReport(scope, len(lots), breaches, scores, goal(lots, warnings, scores))
