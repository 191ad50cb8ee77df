"""Per-lot storage-deadline breach probabilities from empirical dwell times (no Prophet).

The deadline is known; what is uncertain is when the lot leaves (reference §7.4). For a held
lot with elapsed dwell ``e`` hours and allowed dwell ``D = deadline_at - arrived_at``:

1. **Dwell distribution.** Completed lots give total dwell hours (arrival to release) per segment
   ``(site_id, class_group, stage)``; ``class_group`` is the IMDG class without division
   ("5.1" -> "5"). A lot uses the finest segment in ``LEVELS`` with at least ``min_at_risk``
   completed lots that stayed longer than ``e`` (falling back to coarser segments, finally to
   all lots), so the estimate is conditional on elapsed dwell and never rests on a handful of
   lots.
2. **Conditional survival.** With S the empirical survival of that segment,
   P(dwell > D | dwell > e) = S(D) / S(e): the share of the at-risk lots that stayed past D.
3. **Congestion.** A site factor c (forecast over typical throughput or backlog; 1.0 = normal)
   stretches the *remaining* time: remaining' = c * remaining. So P(breach) = S(e + (D - e) / c)
   / S(e), and the predicted completion is ``arrived_at + e + c * (median_at_risk - e)`` where
   ``median_at_risk`` is the median dwell of the at-risk lots (the conditional median).
4. **Edge cases.** Already past the deadline: probability 1. Held longer than every completed lot
   in every segment: probability 1, completion unknown (NaT), since no lot like it finished in
   time. Predicted breach time is the deadline when the probability is >= 0.5, else NaT.
5. **Limit.** Only completed lots are counted: lots still held are not censored observations
   (this is not Kaplan-Meier). A recent-only sample of completed lots therefore biases dwell
   short, so learn from a period much longer than the typical dwell.

Everything is vectorised: each segment's sorted dwell values sit in one array, offset by segment
number, so a single ``np.searchsorted`` answers S(x) for all lots at once (10,000 lots well
under 0.1 s).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

LEVELS: tuple[tuple[str, ...], ...] = (
    ("site_id", "class_group", "stage"),
    ("site_id", "stage"),
    ("class_group", "stage"),
    ("stage",),
    (),
)
"""Segment keys from finest to coarsest; ``()`` is all completed lots."""


@dataclass(frozen=True)
class _Level:
    keys: tuple[str, ...]
    index: pd.Index  # segment key -> segment number (its position)
    start: np.ndarray  # first position of each segment in ``values``
    count: np.ndarray  # completed lots per segment
    values: np.ndarray  # sorted dwell hours, encoded as segment * span + dwell
    span: float


@dataclass(frozen=True)
class DwellModel:
    """Empirical dwell distributions per segment level; build with ``fit_dwell``."""

    levels: tuple[_Level, ...]
    min_at_risk: int


def class_group(hazard_class: pd.Series) -> pd.Series:
    """IMDG class without division: "5.1" -> "5", 3 -> "3"."""
    return hazard_class.astype(str).str.split(".").str[0]


def _keys(df: pd.DataFrame, keys: tuple[str, ...]) -> pd.Index:
    if not keys:
        return pd.Index(np.zeros(len(df), dtype=int))
    return pd.MultiIndex.from_arrays([df[k].astype(str) for k in keys])


def _level(done: pd.DataFrame, keys: tuple[str, ...], span: float) -> _Level:
    seg_keys = _keys(done, keys)
    index = seg_keys.unique()
    seg = index.get_indexer(seg_keys)
    order = np.lexsort((done["dwell_hours"].to_numpy(), seg))
    seg_sorted = seg[order]
    count = np.bincount(seg_sorted, minlength=len(index))
    start = np.concatenate(([0], np.cumsum(count)[:-1]))
    values = seg_sorted * span + done["dwell_hours"].to_numpy(dtype=float)[order]
    return _Level(keys, index, start, count, values, span)


def fit_dwell(completed: pd.DataFrame, *, min_at_risk: int = 20) -> DwellModel:
    """Build the model from completed lots: ``site_id, hazard_class, stage, dwell_hours``."""
    done = completed.dropna(subset=["dwell_hours"])
    done = done[done["dwell_hours"] >= 0].assign(
        class_group=lambda d: class_group(d["hazard_class"])
    )
    if done.empty:
        raise ValueError("no completed lots with a non-negative dwell_hours")
    span = float(np.ceil(done["dwell_hours"].max())) + 2.0
    return DwellModel(tuple(_level(done, keys, span) for keys in LEVELS), min_at_risk)


def _survivors(level: _Level, seg: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """Completed lots in segment ``seg`` with dwell > ``hours`` (0 where seg is -1)."""
    ok = seg >= 0
    s = np.where(ok, seg, 0)
    query = s * level.span + np.clip(hours, -0.5, level.span - 1.0)
    end = level.start[s] + level.count[s]
    found = np.searchsorted(level.values, query, side="right")
    return np.asarray(np.where(ok, end - found, 0), dtype=np.int64)


def _median_at_risk(level: _Level, seg: np.ndarray, n_risk: np.ndarray) -> np.ndarray:
    """Median dwell among the ``n_risk`` longest dwells of each lot's segment."""
    end = level.start[seg] + level.count[seg]
    lo = np.clip(end - n_risk + (n_risk - 1) // 2, 0, len(level.values) - 1)
    hi = np.clip(end - n_risk + n_risk // 2, 0, len(level.values) - 1)
    values = (level.values[lo] + level.values[hi]) / 2 - seg * level.span
    return np.asarray(values, dtype=float)


def score_lots(
    lots: pd.DataFrame,
    model: DwellModel,
    *,
    congestion: pd.Series | None = None,
    now: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Breach probability and predicted completion for each held lot.

    ``lots`` has ``lot_id, site_id, hazard_class, stage, arrived_at, deadline_at`` and either a
    ``now`` column or the ``now`` argument. ``congestion`` maps ``site_id`` to a factor > 0
    (missing sites: 1.0). Returns, in input order: ``lot_id, elapsed_hours,
    predicted_completion, breach_probability, predicted_breach_at, dwell_level, n_at_risk``;
    ``dwell_level`` is the index into ``LEVELS`` used (-1: no data).
    """
    df = lots.assign(class_group=class_group(lots["hazard_class"]))
    at = pd.to_datetime(df["now"]) if now is None else pd.Timestamp(now)
    arrived, deadline = pd.to_datetime(df["arrived_at"]), pd.to_datetime(df["deadline_at"])
    elapsed = ((at - arrived) / pd.Timedelta(hours=1)).to_numpy(dtype=float)
    allowed = ((deadline - arrived) / pd.Timedelta(hours=1)).to_numpy(dtype=float)
    factor = np.ones(len(df))
    if congestion is not None:
        factor = df["site_id"].map(congestion).fillna(1.0).to_numpy(dtype=float)
        if (factor <= 0).any():
            raise ValueError("congestion factors must be > 0")
    chosen = np.full(len(df), -1)
    n_risk = np.zeros(len(df), dtype=np.int64)
    n_breach = np.zeros(len(df), dtype=np.int64)
    median = np.full(len(df), np.nan)
    beyond = elapsed + (allowed - elapsed) / factor  # dwell that makes the stretched stay breach
    for i, level in enumerate(model.levels):
        seg = level.index.get_indexer(_keys(df, level.keys))
        risk = _survivors(level, seg, elapsed)
        need = model.min_at_risk if level.keys else 1
        take = (chosen < 0) & (risk >= need)
        chosen[take], n_risk[take] = i, risk[take]
        n_breach[take] = _survivors(level, seg[take], beyond[take])
        median[take] = _median_at_risk(level, seg[take], risk[take])
    with np.errstate(invalid="ignore", divide="ignore"):
        prob = np.where(n_risk > 0, n_breach / np.maximum(n_risk, 1), 1.0)
    prob = np.where(elapsed >= allowed, 1.0, prob)
    completion = arrived + pd.to_timedelta(elapsed + factor * (median - elapsed), unit="h")
    return pd.DataFrame(
        {
            "lot_id": df["lot_id"].to_numpy(),
            "elapsed_hours": elapsed,
            "predicted_completion": completion.to_numpy(),
            "breach_probability": prob,
            "predicted_breach_at": deadline.where(prob >= 0.5).to_numpy(),
            "dwell_level": chosen,
            "n_at_risk": n_risk,
        }
    )
