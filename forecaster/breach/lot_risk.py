"""Breach predictions for held hazardous lots: lot state from the database, conditioned on stage.

``storage_deadlines`` answers P(dwell > D | dwell > e) for one clock. Here the clock starts when
the lot entered its *current* stage (arrived, declared, inspection started or finished,
released, or on hold), so a lot that has sat in inspection for three days is compared with lots
that also spent three days since inspection began, not with every lot three days after arrival.
Completed lots contribute one row per stage they occupied: ``dwell_hours`` = removal minus stage
entry. A lot "leaves" when it is removed (gated out): the breach the alerter and the collector
count is a hazardous lot still at the site after its deadline.

Congestion (reference §7.4, issue 4): by Little's law a stay scales with queue / throughput, so
a site's factor is ``(queue forecast / typical queue) x (typical throughput / throughput
forecast)`` from the Prophet forecasts of ``lots_on_site`` and ``removals_per_hour`` over the
next 24 h against their last 7 days, shrunk towards 1 by pseudo-counts so small sites' noise
does not swing it, and clipped to [0.5, 4].
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Connection

from forecaster.breach.storage_deadlines import DwellModel, fit_dwell, score_lots
from forecaster.series import rows_frame

STAGES = (
    ("arrived", "arrived_at"),
    ("declared", "declared_at"),
    ("inspection_started", "inspection_started_at"),
    ("inspection_finished", "inspection_finished_at"),
    ("released", "released_at"),
)
"""Customs stages in order, each with the lot column that marks its start."""

LOT_COLUMNS = (
    "lot_id, site_id, visit_no, hazard_class, arrived_at, declared_at, inspection_started_at,"
    " inspection_finished_at, released_at, held_at, hold_lifted_at, removed_at, deadline_at"
)
QUEUE, FLOW = "lots_on_site", "removals_per_hour"
QUEUE_PRIOR, FLOW_PRIOR = 10.0, 1.0  # pseudo-counts: lots, lots per hour
CONGESTION_RANGE = (0.5, 4.0)
_EMPTY_MODEL = DwellModel((), 1)  # never consulted: score_held returns early for no lots

_TRAINING_SQL = """
SELECT l.site_id, l.hazard_class, v.stage,
       extract(epoch FROM (l.removed_at - greatest(l.arrived_at, v.at)))::float8 / 3600
           AS dwell_hours
FROM lot l
CROSS JOIN LATERAL (VALUES
    ('arrived', CASE WHEN l.declared_at IS NULL OR l.declared_at > l.arrived_at
                     THEN l.arrived_at END),
    ('declared', l.declared_at),
    ('inspection_started', l.inspection_started_at),
    ('inspection_finished', l.inspection_finished_at),
    ('released', l.released_at),
    ('held', l.held_at)) AS v (stage, at)
WHERE l.hazard_class IS NOT NULL AND l.arrived_at IS NOT NULL AND v.at IS NOT NULL
  AND l.removed_at >= CAST(:since AS timestamptz) AND l.removed_at < CAST(:until AS timestamptz)
  AND v.at <= l.removed_at
"""


def completed_stays(conn: Connection, since: datetime, until: datetime) -> pd.DataFrame:
    """``site_id, hazard_class, stage, dwell_hours`` of hazardous lots removed in the window,
    one row per stage occupied (the input of ``storage_deadlines.fit_dwell``)."""
    rows = conn.execute(text(_TRAINING_SQL), {"since": since, "until": until}).all()
    return rows_frame(rows, ["site_id", "hazard_class", "stage", "dwell_hours"])


_HELD_SQL = f"""
SELECT {LOT_COLUMNS}
FROM lot
WHERE hazard_class IS NOT NULL AND deadline_at IS NOT NULL AND removed_at IS NULL
  AND arrived_at <= CAST(:now AS timestamptz)
  AND (CAST(:sites AS text[]) IS NULL OR site_id = ANY (CAST(:sites AS text[])))
"""


def held_lots(conn: Connection, now: datetime, sites: Sequence[str] | None = None) -> pd.DataFrame:
    """Every hazardous lot with a deadline still at its site at ``now``."""
    params = {"now": now, "sites": list(sites) if sites else None}
    rows = conn.execute(text(_HELD_SQL), params).all()
    return rows_frame(rows, [c.strip() for c in LOT_COLUMNS.split(",")])


def sites_under(conn: Connection, nodes: Sequence[str]) -> list[str]:
    """Site ids in the subtrees of ``nodes`` (a site id stands for itself)."""
    rows = conn.execute(
        text("SELECT node_id FROM org_node WHERE level = 'site' AND path && CAST(:n AS text[])"),
        {"n": list(nodes)},
    )
    return [row[0] for row in rows]


def stage_at(lots: pd.DataFrame, at: pd.Timestamp | pd.Series) -> pd.DataFrame:
    """``stage`` and ``entered_at`` of each lot at ``at`` from its stage timestamps (a lot on
    hold at ``at`` is in stage ``held`` since ``held_at``). Works for the live lot table and for
    replaying history in backtests."""
    arrived = pd.to_datetime(lots["arrived_at"], utc=True)
    stage = pd.Series("unknown", index=lots.index, dtype=object)
    entered = pd.Series(pd.NaT, index=lots.index, dtype="datetime64[ns, UTC]")
    for name, column in STAGES:
        stamp = pd.to_datetime(lots[column], utc=True)
        hit = stamp.notna() & (stamp <= at)
        stage[hit] = name
        entered[hit] = np.maximum(stamp[hit], arrived[hit])
    held, lifted = (pd.to_datetime(lots[c], utc=True) for c in ("held_at", "hold_lifted_at"))
    on_hold = (held <= at) & (lifted.isna() | (lifted < held) | (lifted > at))
    stage[on_hold] = "held"
    entered[on_hold] = held[on_hold]
    return pd.DataFrame({"stage": stage, "entered_at": entered})


def score_held(
    lots: pd.DataFrame,
    model: DwellModel,
    now: pd.Timestamp,
    congestion: pd.Series | None = None,
) -> pd.DataFrame:
    """``score_lots`` with the clock started at stage entry. Returns ``lot_id, site_id,
    visit_no, stage, breach_probability, predicted_breach_at, predicted_removal_at,
    congestion``, in input order (a lot is one visit at one site: all three name it)."""
    if lots.empty:
        columns = ["lot_id", "site_id", "visit_no", "stage", "breach_probability"]
        return pd.DataFrame(
            columns=[*columns, "predicted_breach_at", "predicted_removal_at", "congestion"]
        )
    state = stage_at(lots, now)
    frame = pd.DataFrame(
        {
            "lot_id": lots["lot_id"].to_numpy(),
            "site_id": lots["site_id"].to_numpy(),
            "hazard_class": lots["hazard_class"].to_numpy(),
            "stage": state["stage"].to_numpy(),
            # Series, not arrays: to_numpy() would drop the UTC zone these compare against.
            "arrived_at": state["entered_at"].reset_index(drop=True),
            "deadline_at": pd.to_datetime(lots["deadline_at"], utc=True).reset_index(drop=True),
        }
    )
    scored = score_lots(frame, model, congestion=congestion, now=now)
    factor = frame["site_id"].map(congestion) if congestion is not None else None
    visit_no = lots["visit_no"].to_numpy() if "visit_no" in lots else 1
    return pd.DataFrame(
        {
            "lot_id": scored["lot_id"],
            "site_id": frame["site_id"],
            "visit_no": visit_no,
            "stage": frame["stage"],
            "breach_probability": scored["breach_probability"],
            "predicted_breach_at": scored["predicted_breach_at"],
            "predicted_removal_at": scored["predicted_completion"],
            "congestion": 1.0 if factor is None else factor.fillna(1.0).to_numpy(),
        }
    )


def congestion_factor(
    queue_forecast: float, queue_typical: float, flow_forecast: float, flow_typical: float
) -> float:
    """Little's-law stretch of the remaining stay (1.0 = normal); NaN inputs count as normal."""
    values = [queue_forecast, queue_typical, flow_forecast, flow_typical]
    if any(v is None or not np.isfinite(v) for v in values):
        return 1.0
    queue = (max(queue_forecast, 0.0) + QUEUE_PRIOR) / (max(queue_typical, 0.0) + QUEUE_PRIOR)
    flow = (max(flow_typical, 0.0) + FLOW_PRIOR) / (max(flow_forecast, 0.0) + FLOW_PRIOR)
    return float(np.clip(queue * flow, *CONGESTION_RANGE))


def site_congestion(
    forecasts: dict[tuple[str, str], pd.DataFrame],
    histories: dict[tuple[str, str], pd.DataFrame],
    *,
    ahead_hours: int = 24,
    typical_hours: int = 168,
) -> pd.Series:
    """Congestion factor per site from ``{(site_id, indicator): forecast}`` and the matching
    histories (``ds, y``); sites missing either indicator are left out (factor 1.0)."""
    factors: dict[str, float] = {}
    sites = {site for site, code in forecasts if code == QUEUE}
    for site in sorted(sites & {site for site, code in forecasts if code == FLOW}):
        means = []
        for code in (QUEUE, FLOW):
            fc, hist = forecasts[(site, code)], histories.get((site, code))
            if hist is None or hist.empty:
                break
            means.append(float(fc["yhat"].iloc[:ahead_hours].mean()))
            means.append(float(hist["y"].iloc[-typical_hours:].mean()))
        if len(means) == 4:
            factors[site] = congestion_factor(means[0], means[1], means[2], means[3])
    return pd.Series(factors, dtype=float)


def predict_held(
    conn: Connection,
    now: datetime,
    *,
    dwell_days: int = 28,
    sites: Sequence[str] | None = None,
    congestion: pd.Series | None = None,
) -> pd.DataFrame:
    """Score every held hazardous lot (of ``sites``, default all) at ``now`` with a dwell model
    learnt from the lots removed in the ``dwell_days`` before; empty when there is nothing to
    score or nothing to learn from."""
    held = held_lots(conn, now, sites)
    if held.empty:
        return score_held(held, _EMPTY_MODEL, pd.Timestamp(now))
    stays = completed_stays(conn, now - timedelta(days=dwell_days), now)
    if stays.empty:
        return score_held(held.iloc[:0], _EMPTY_MODEL, pd.Timestamp(now))
    return score_held(held, fit_dwell(stays), pd.Timestamp(now), congestion)
