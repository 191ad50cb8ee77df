"""The decision rule that turns a forecast into a published threshold crossing.

Every rule in ``threshold_crossing`` is a cut on the per-step probability P(y_t beyond T):
``yhat`` is P >= 0.5, ``edge`` is P >= (1 - interval_width) / 2 (0.1 for an 80 % band) and
``probability`` is P >= ``min_probability``. So a rule is one number, ``cut``; the crossing time
is the first step at or above it, and the run publishes no time when no step reaches it.

The published probability is P(actual crossing within the horizon): the raw max-step
probability mapped through the indicator's isotonic ``calibration`` from the backtest (raw when
there is none: Prophet's bands are not calibrated for alerting, reference §2.8). Alert rules
then apply their own ``min_probability`` on top. ``consecutive`` (debounce over hourly
forecasts) and recovery are recorded for the alert rule's ``for`` and ``keep_firing_for``: the
alerter already implements both, so the forecaster does not repeat them.

The candidates (``CANDIDATES``) are Prophet's rules, the seasonal-naive baselines
(``SEASONAL_NAIVE``, the ``yhat`` rule on the value one season back) and the same rules on the
equal-weight blend of Prophet and a seasonal naive or the three-week mean of the same hour of
the week (``BLEND``, ``blend.blend``), and Prophet's rules gated by a seasonal naive
(``AGREEMENT``: the rule fires only where the naive warns too); the backtest picks the
*champion* among them (``forecaster.backtest.champion.choose``), so it may be a baseline, a
blend or an agreement.
``Champion`` is that choice with its score, the runner-up and why it won.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from forecaster.backtest.scoring import Score
from forecaster.crossings.threshold_crossing import Calibration, Direction, Rule, probabilities_of
from forecaster.series import utc_instants

HOUR = pd.Timedelta(hours=1)


@dataclass(frozen=True)
class DecisionRule:
    """How one indicator's forecasts become warnings.

    :param rule: ``yhat``, ``edge`` or ``probability`` (see ``threshold_crossing``).
    :param min_probability: the step-probability cut for ``rule="probability"``.
    :param consecutive: hourly forecasts in a row the rule must hold (alert rule ``for``).
    :param calibration: raw -> observed probability map from the backtest, if any.
    :param interval_width: central probability of the forecast band.
    :param method: ``prophet``, a key of ``SEASONAL_NAIVE``, ``BLEND`` or ``AGREEMENT``: which
        forecast the rule reads (an agreement reads Prophet's, gated by its naive's).
    :param conformal_factor: widening of Prophet's band about ``yhat`` (backtest median q).
    """

    rule: Rule = "yhat"
    min_probability: float = 0.5
    consecutive: int = 1
    calibration: Calibration | None = None
    interval_width: float = 0.8
    method: str = "prophet"
    conformal_factor: float | None = None

    @property
    def baseline(self) -> str | None:
        """The baseline forecaster the rule reads, by its ``baselines.BASELINES`` name (a
        seasonal naive's own, the one a blend mixes with Prophet or the one an agreement waits
        for), None for Prophet alone."""
        if self.method in SEASONAL_NAIVE:
            return self.method
        return BLEND.get(self.method) or AGREEMENT.get(self.method)

    @property
    def is_blend(self) -> bool:
        return self.method in BLEND

    @property
    def is_agreement(self) -> bool:
        return self.method in AGREEMENT

    @property
    def name(self) -> str:
        if self.method in SEASONAL_NAIVE:
            return self.method  # the baselines are scored with the yhat rule only
        base = f"p>={self.min_probability:g}" if self.rule == "probability" else self.rule
        base = base if self.consecutive == 1 else f"{base} x{self.consecutive}"
        if self.is_agreement:
            return f"prophet & {AGREEMENT[self.method]} {base}"  # as the backtest names it
        return f"{self.method} {base}" if self.is_blend else base

    @property
    def cut(self) -> float:
        """The per-step probability at which this rule fires."""
        if self.rule == "yhat":
            return 0.5
        if self.rule == "edge":
            return (1.0 - self.interval_width) / 2
        return self.min_probability

    def published_probability(self, raw: float) -> float:
        return float(self.calibration(raw)) if self.calibration else raw


DEFAULT_RULE = DecisionRule()
"""Used for an indicator without a ``forecast_decision`` row (before its first backtest):
Prophet's ``yhat`` rule, uncalibrated. Not a claim of accuracy: on real series the champion
chosen by backtest is often a seasonal naive (docs/forecasting.md §3)."""

NAIVE_RULE = DecisionRule()
"""The rule a seasonal naive is scored and gates an agreement with: ``yhat`` only."""

SEASONAL_NAIVE: dict[str, int] = {"seasonal_naive_24h": 24, "seasonal_naive_168h": 168}
"""Baselines that may be an indicator's champion, by backtest method name: season in hours."""

BLEND: dict[str, str] = {
    "blend_24h": "seasonal_naive_24h",
    "blend_168h": "seasonal_naive_168h",
    "blend_mean_3w": "weekly_mean_3w",
}
"""Equal-weight blends of Prophet (the production seasonality mode) and a baseline that may be
an indicator's champion, by method name: the baseline's ``baselines.BASELINES`` name."""

AGREEMENT: dict[str, str] = {
    "agreement_24h": "seasonal_naive_24h",
    "agreement_168h": "seasonal_naive_168h",
}
"""Prophet's rule (the production seasonality mode) firing only where a seasonal naive warns
too (its ``yhat`` rule, over the same horizon), by method name: the naive's name. Scored in the
backtest as ``prophet & seasonal_naive_24h <rule>``; no extra fit."""

_CUTS: tuple[tuple[Rule, float], ...] = (
    ("edge", 0.5),
    ("probability", 0.3),
    ("yhat", 0.5),
    ("probability", 0.7),
    ("probability", 0.9),
)
CANDIDATES: tuple[DecisionRule, ...] = tuple(
    DecisionRule(rule, p, k) for rule, p in _CUTS for k in (1, 2, 3)
)
"""Rules the backtest compares per indicator, from most to least eager."""


@dataclass(frozen=True)
class Decision:
    """One published crossing: ``crossing_at`` is None when the rule does not fire."""

    threshold: float
    direction: Direction
    crossing_at: pd.Timestamp | None
    lead_hours: float | None
    probability: float
    raw_probability: float
    rule: str


def decide(
    forecast: pd.DataFrame,
    threshold: float,
    direction: Direction,
    rule: DecisionRule,
    *,
    origin: pd.Timestamp,
    now: pd.Timestamp,
) -> Decision:
    """Apply ``rule`` to one forecast (``ds`` in the same clock as ``origin`` and ``now``).

    ``origin`` is the last observed hour: rows after it count. Lead is measured from ``now``
    (the run time) and is 0 for the hour in progress.
    """
    # On integer instants: a zoned ``ds`` column as numpy is an array of Timestamp objects,
    # which cost ~1 ms a forecast at ~1,500 forecasts a cycle.
    stamps = pd.DatetimeIndex(forecast["ds"])
    start = pd.Timestamp(origin)
    if start.tzinfo is not None and stamps.tz is None:
        zone, start = "UTC", start.tz_convert("UTC").tz_localize(None)  # naive UTC instants
    else:
        zone = stamps.tz
        start = start.tz_localize(zone) if start.tzinfo is None and zone is not None else start
    nanos = stamps.as_unit("ns").asi8
    ahead = nanos > start.as_unit("ns").value
    yhat, lower, upper = (
        forecast[c].to_numpy(dtype=float)[ahead] for c in ("yhat", "yhat_lower", "yhat_upper")
    )
    p = probabilities_of(yhat, lower, upper, threshold, direction, rule.interval_width)
    raw = float(p.max()) if len(p) else 0.0
    hits = np.flatnonzero(p >= rule.cut - 1e-12)  # first_crossing's tolerance
    at = pd.Timestamp(int(nanos[ahead][hits[0]]), tz=zone) if len(hits) else None
    lead = max(0.0, (at - now) / HOUR) if at is not None else None
    return Decision(threshold, direction, at, lead, rule.published_probability(raw), raw, rule.name)


def agreed(
    decision: Decision,
    rule: DecisionRule,
    naive: pd.DataFrame | None,
    *,
    origin: pd.Timestamp,
    now: pd.Timestamp,
) -> Decision:
    """An agreement champion's decision: Prophet's ``decision``, kept where the naive's
    forecast warns too (its ``yhat`` rule, same threshold and horizon), silenced elsewhere (no
    crossing, raw probability 0, as the backtest scored the agreement)."""
    if naive is not None:
        gate = decide(
            naive, decision.threshold, decision.direction, NAIVE_RULE, origin=origin, now=now
        )
        if gate.crossing_at is not None:
            return decision
    silent = rule.published_probability(0.0)
    return replace(
        decision, crossing_at=None, lead_hours=None, probability=silent, raw_probability=0.0
    )


def published(forecast: pd.DataFrame, timezone: str, factor: float | None) -> pd.DataFrame:
    """A fitted series' forecast as stored and published: ``ds`` in UTC, the band scaled by
    ``factor`` about ``yhat`` (the backtest's split-conformal q). One frame built from arrays,
    where two ``assign`` calls cost ~0.9 ms a series in the cycle."""
    yhat, lower, upper = (
        forecast[c].to_numpy(dtype=float) for c in ("yhat", "yhat_lower", "yhat_upper")
    )
    if factor:
        lower, upper = widened_band(yhat, lower, upper, factor)
    ds = utc_instants(forecast["ds"].to_numpy(), timezone)
    return pd.DataFrame({"ds": ds, "yhat": yhat, "yhat_lower": lower, "yhat_upper": upper})


def widened_band(
    yhat: np.ndarray, lower: np.ndarray, upper: np.ndarray, factor: float
) -> tuple[np.ndarray, np.ndarray]:
    """The band scaled by ``factor`` about ``yhat``: the new lower and upper edges, the lower
    kept at zero or above where it was (counts are clipped at zero)."""
    wide = yhat - factor * (yhat - lower)
    return np.where((lower < 0) | (wide >= 0), wide, 0.0), yhat + factor * (upper - yhat)


@dataclass(frozen=True)
class Champion:
    """The chosen rule with its score, the runner-up (best of the other methods) and why."""

    rule: DecisionRule
    score: Score
    runner_up: tuple[DecisionRule, Score] | None
    reason: str
