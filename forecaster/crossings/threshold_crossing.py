"""When does a forecast cross a threshold, and how likely is a crossing within the horizon?

Input is any forecast frame with ``ds, yhat, yhat_lower, yhat_upper`` (Prophet or a baseline).
Each step's predictive distribution is taken as normal with mean ``yhat`` and
``sigma = half-width / z``, z = 1.2816 for an 80 % band. We use the wider half of the band, which
equals ``(upper - lower) / (2 z)`` for a symmetric band and stays right when the lower edge was
clipped at 0.

Decision rules (pick by backtest; reference §5 shows they trade recall for false alarms):

- ``"yhat"``: first step where ``yhat`` is at or beyond the threshold (P(step) >= 0.5);
- ``"edge"``: first step where the band edge is (P(step) >= (1 - interval_width) / 2), the
  Datadog/Grafana rule: high recall, many false alarms;
- ``"probability"``: first step where P(step) >= ``min_probability``.

``Crossing.probability`` is max over steps of P(y_t beyond threshold). The true P(any step
crosses) lies between that (errors perfectly correlated across steps) and ``1 - prod(1 - p_t)``
(independent errors). Forecast errors are strongly autocorrelated, and the independent version is
badly over-confident (reference §5), so we report the lower bound. ``calibrate`` maps it to
observed frequencies on a backtest.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np
import pandas as pd

Direction = Literal["above", "below"]
Rule = Literal["yhat", "edge", "probability"]


def interval_z(interval_width: float) -> float:
    """Half-width of a central normal interval in sigmas (1.2816 for 0.8)."""
    if math.isnan(interval_width) or not 0.0 < interval_width < 1.0:
        raise ValueError(f"interval_width must be in (0, 1), got {interval_width}")
    return NormalDist().inv_cdf(0.5 + interval_width / 2)


@dataclass(frozen=True)
class Crossing:
    """First predicted crossing.

    :param at: ``ds`` of the first step that satisfies the rule.
    :param lead: ``at - now``.
    :param yhat: point forecast at ``at``.
    :param probability: max over horizon steps of P(y_t at or beyond the threshold).
    :param rule: the decision rule that produced it.
    """

    at: pd.Timestamp
    lead: pd.Timedelta
    yhat: float
    probability: float
    rule: Rule


def step_probabilities(
    forecast: pd.DataFrame,
    threshold: float,
    direction: Direction = "above",
    interval_width: float = 0.8,
) -> np.ndarray:
    """P(y_t >= threshold) (``"above"``) or P(y_t <= threshold) (``"below"``) for each row."""
    return probabilities_of(
        forecast["yhat"].to_numpy(dtype=float),
        forecast["yhat_lower"].to_numpy(dtype=float),
        forecast["yhat_upper"].to_numpy(dtype=float),
        threshold,
        direction,
        interval_width,
    )


def probabilities_of(
    yhat: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    threshold: float,
    direction: Direction = "above",
    interval_width: float = 0.8,
) -> np.ndarray:
    """``step_probabilities`` on arrays (the per-cycle hot path skips building frames)."""
    half = np.maximum(upper - yhat, yhat - lower)
    sigma = np.clip(half, 0.0, None) / interval_z(interval_width)
    gap = (yhat - threshold) if direction == "above" else (threshold - yhat)
    with np.errstate(divide="ignore", invalid="ignore"):
        zscore = np.where(sigma > 0, gap / np.where(sigma > 0, sigma, 1.0), np.sign(gap) * np.inf)
    # A zero-width band is a certain forecast: at the threshold counts as crossed.
    zscore = np.where((sigma == 0) & (gap == 0), np.inf, zscore)
    return np.array([0.5 * math.erfc(-z / math.sqrt(2.0)) for z in zscore], dtype=float)


def breach_probability(
    forecast: pd.DataFrame,
    threshold: float,
    direction: Direction = "above",
    interval_width: float = 0.8,
) -> float:
    """Lower bound of P(crossing within the forecast): max over steps (see module docstring)."""
    p = step_probabilities(forecast, threshold, direction, interval_width)
    return float(p.max()) if len(p) else 0.0


def first_crossing(
    forecast: pd.DataFrame,
    threshold: float,
    direction: Direction = "above",
    now: pd.Timestamp | None = None,
    *,
    rule: Rule = "yhat",
    interval_width: float = 0.8,
    min_probability: float = 0.5,
) -> Crossing | None:
    """First step after ``now`` that crosses ``threshold`` under ``rule``, else None.

    ``now`` defaults to one step before the first row (the forecast origin). Rows at or before
    ``now`` are ignored. ``min_probability`` is used only by ``rule="probability"``.
    """
    fc = forecast.sort_values("ds")
    if now is None and len(fc):
        step = fc["ds"].diff().median() if len(fc) > 1 else pd.Timedelta(hours=1)
        now = fc["ds"].iloc[0] - step
    fc = fc[fc["ds"] > now].reset_index(drop=True)
    if fc.empty:
        return None
    p = step_probabilities(fc, threshold, direction, interval_width)
    cut = {"yhat": 0.5, "edge": (1.0 - interval_width) / 2, "probability": min_probability}[rule]
    hits = np.flatnonzero(p >= cut - 1e-12)
    if not len(hits):
        return None
    row = fc.iloc[int(hits[0])]
    at = pd.Timestamp(row["ds"])
    return Crossing(at, at - now, float(row["yhat"]), float(p.max()), rule)


def first_edge_crossing(
    forecast: pd.DataFrame,
    threshold: float,
    direction: Direction = "above",
    now: pd.Timestamp | None = None,
    interval_width: float = 0.8,
) -> Crossing | None:
    """``first_crossing`` with the band-edge rule (upper edge above, lower edge below)."""
    return first_crossing(
        forecast, threshold, direction, now, rule="edge", interval_width=interval_width
    )


@dataclass(frozen=True)
class Calibration:
    """Monotone map from predicted probability to observed frequency (isotonic fit).

    :param x: sorted distinct predicted probabilities seen in the backtest.
    :param y: non-decreasing observed frequency at each ``x``; linear in between, flat outside.
    """

    x: tuple[float, ...]
    y: tuple[float, ...]

    def __call__(self, p: float | Sequence[float] | np.ndarray) -> np.ndarray:
        """Calibrated probabilities for ``p`` (always an array)."""
        return np.asarray(np.interp(np.asarray(p, dtype=float), self.x, self.y), dtype=float)


def calibrate(
    probabilities: Sequence[float] | np.ndarray, outcomes: Sequence[bool] | np.ndarray
) -> Calibration:
    """Isotonic regression (pool-adjacent-violators) of ``outcomes`` on ``probabilities``.

    Equal probabilities are pooled first, so each distinct value is one weighted point.
    """
    p = np.asarray(probabilities, dtype=float)
    o = np.asarray(outcomes, dtype=float)
    if p.shape != o.shape or p.size == 0:
        raise ValueError("probabilities and outcomes must be non-empty and the same length")
    xs, inverse = np.unique(p, return_inverse=True)
    weights = np.bincount(inverse).astype(float)
    means = np.bincount(inverse, weights=o) / weights
    blocks: list[list[float]] = []  # [mean, weight, n_points]
    for mean, weight in zip(means, weights, strict=True):
        blocks.append([float(mean), float(weight), 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, n2 = blocks.pop()
            m1, w1, n1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, n1 + n2])
    fitted = np.repeat([b[0] for b in blocks], [int(b[2]) for b in blocks])
    return Calibration(tuple(xs.tolist()), tuple(fitted.tolist()))
