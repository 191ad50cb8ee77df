"""Out-of-sample band coverage and split-conformal widening, per series, on backtest cases.

Prophet's analytic band only carries observation noise, so out of sample its 80 % band covers
less (reference §2.8). Each ``rules.Case`` keeps, per forecast row with an observation, the
*ratio* of the error to the band's half-width on the error's side::

    r = (y - yhat) / (yhat_upper - yhat)   if y >= yhat
        (yhat - y) / (yhat - yhat_lower)   otherwise

so ``r <= 1`` is exactly "inside the band", and a band widened by a factor ``q`` around
``yhat`` (``yhat ± q × half-width``) covers the rows with ``r <= q``.

Split-conformal, rolling: for each origin, the calibration window is every earlier origin of
the same series whose horizon had fully happened by ``now`` (so nothing from the future is
used); ``q`` is the conformal quantile of their ratios, the ``ceil((n + 1)(1 - alpha)) / n``
empirical quantile (Vovk et al.; Angelopoulos & Bates, "A Gentle Introduction to Conformal
Prediction", 2021, §1). An origin with fewer than ``min_calibration`` calibration ratios is not
evaluated (it would be calibrated on too little); coverage before and after is measured on the
same evaluated rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from forecaster.backtest.scoring import Ratio


class HasRatios(Protocol):
    """What a case needs to be calibrated (``rules.Case`` has it)."""

    @property
    def key(self) -> str: ...
    @property
    def now(self) -> pd.Timestamp: ...
    @property
    def ratios(self) -> np.ndarray: ...


@dataclass(frozen=True)
class BandCoverage:
    """Coverage of one series' band on the evaluated rows, before and after widening.

    ``factors`` holds the widening factor used at each evaluated origin.
    """

    key: str
    origins: int
    rows: int
    covered_before: int
    covered_after: int
    factors: tuple[float, ...]

    before = Ratio("covered_before", "rows")
    after = Ratio("covered_after", "rows")

    @property
    def median_factor(self) -> float:
        return float(np.median(self.factors)) if self.factors else math.nan


def ratios(frame: pd.DataFrame) -> np.ndarray:
    """Error-to-half-width ratios of ``y`` against ``yhat, yhat_lower, yhat_upper`` rows (0 for
    an exact hit, inf outside a zero-width side)."""
    y, yhat = frame["y"].to_numpy(float), frame["yhat"].to_numpy(float)
    upper, lower = frame["yhat_upper"].to_numpy(float), frame["yhat_lower"].to_numpy(float)
    error = np.abs(y - yhat)
    half = np.where(y >= yhat, upper - yhat, yhat - lower)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(error == 0, 0.0, error / half)
    return np.where(half <= 0, np.where(error == 0, 0.0, np.inf), out)


def conformal_factor(calibration: np.ndarray, alpha: float) -> float:
    """The split-conformal quantile of ``calibration`` ratios for miscoverage ``alpha``: inf
    when there are too few ratios for that level."""
    n = len(calibration)
    level = math.ceil((n + 1) * (1 - alpha)) / n if n else math.inf
    if level > 1:
        return math.inf
    return float(np.quantile(calibration, level, method="inverted_cdf"))  # the k-th smallest


def band_coverage(
    cases: Iterable[HasRatios],
    horizon_hours: int,
    *,
    alpha: float = 0.2,
    min_calibration: int = 48,
) -> list[BandCoverage]:
    """One ``BandCoverage`` per series key, rolling split-conformal over its origins."""
    by_key: dict[str, list[HasRatios]] = {}
    for case in cases:
        by_key.setdefault(case.key, []).append(case)
    return [
        _series(key, sorted(group, key=lambda c: c.now), horizon_hours, alpha, min_calibration)
        for key, group in sorted(by_key.items())
    ]


def _series(
    key: str, cases: Sequence[HasRatios], horizon: int, alpha: float, min_calibration: int
) -> BandCoverage:
    rows = before = after = origins = 0
    factors: list[float] = []
    for case in cases:
        seen = [
            c.ratios for c in cases if c.now + pd.Timedelta(hours=horizon) <= case.now
        ]  # horizons fully observed by this origin's ``now``
        calibration = np.concatenate(seen) if seen else np.empty(0)
        if len(calibration) < min_calibration or not len(case.ratios):
            continue
        q = conformal_factor(calibration, alpha)
        origins, rows = origins + 1, rows + len(case.ratios)
        before += int((case.ratios <= 1.0).sum())
        after += int((case.ratios <= q).sum())
        factors.append(q)
    return BandCoverage(key, origins, rows, before, after, tuple(factors))


def pooled(coverages: Sequence[BandCoverage], subject: str) -> BandCoverage:
    """All series of one indicator as one ``BandCoverage``."""
    return BandCoverage(
        subject,
        sum(c.origins for c in coverages),
        sum(c.rows for c in coverages),
        sum(c.covered_before for c in coverages),
        sum(c.covered_after for c in coverages),
        tuple(f for c in coverages for f in c.factors),
    )
