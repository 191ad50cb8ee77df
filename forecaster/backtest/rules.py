"""Rolling-origin threshold backtests that compare decision rules and baselines on the same
origins, and pick each indicator's rule (reference §5; ``scoring`` holds the scoring types).

Each method forecasts every origin once; a *case* keeps what any rule needs: the per-step
probabilities of being beyond the threshold, the first actual crossing and the accuracy sums.
Every ``DecisionRule`` in ``decision.CANDIDATES`` is then scored on the same cases for free
(and on a blend's cases, built from Prophet's and a naive's forecasts at the same origins):
a rule warns at an origin when the max step probability reaches its cut on ``consecutive``
origins in a row (one ``step_hours`` apart). Prophet windows are fitted on a process pool.

Thresholds: the level exceeded in at most 10 % of hours (p90, reference §5), taken as the
smallest observed value reached that rarely, so that a mostly-zero count gets 1, not 0.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np
import pandas as pd

from forecaster.backtest import conformal
from forecaster.backtest.baselines import BASELINES
from forecaster.backtest.scoring import HOUR, Score, origins
from forecaster.crossings.blend import blend
from forecaster.crossings.decision import AGREEMENT, BLEND, CANDIDATES, DecisionRule
from forecaster.crossings.threshold_crossing import (
    Calibration,
    Direction,
    calibrate,
    step_probabilities,
)
from forecaster.errors import ForecastError
from forecaster.prophet.batch import FAST_CONFIG, fit_many
from forecaster.prophet.model import ProphetConfig

Forecaster = Callable[[pd.DataFrame, int], pd.DataFrame]
BASELINE_RULE = DecisionRule("yhat")


@dataclass(frozen=True)
class Case:
    """One method's forecast at one origin of one series."""

    key: str
    now: pd.Timestamp
    ds: np.ndarray
    p: np.ndarray
    truth: pd.Timestamp | None
    abs_error: float
    n_points: int
    n_covered: int
    # Per forecast row with an observation: error over the band's half-width on its side.
    ratios: np.ndarray = field(default_factory=lambda: np.empty(0))
    # The forecast rows after ``now`` and the observations of the horizon, kept so that
    # ``blend_cases`` combines two methods' forecasts without fitting again.
    forecast: pd.DataFrame | None = field(default=None, compare=False, repr=False)
    observed: pd.DataFrame | None = field(default=None, compare=False, repr=False)

    @property
    def max_p(self) -> float:
        return float(self.p.max()) if len(self.p) else 0.0


def threshold_for(y: pd.Series, share: float = 0.1) -> float | None:
    """Smallest observed value reached or exceeded in at most ``share`` of hours; None when
    the series never varies enough (e.g. all zeros)."""
    values = y.dropna().to_numpy(dtype=float)
    for level in np.unique(values):
        if level > values.min() and (values >= level).mean() <= share:
            return float(level)
    return None


@dataclass(frozen=True)
class Grid:
    """Where a series' origins fall and what counts as a crossing: hours of training window,
    horizon and step between origins, and the threshold's direction."""

    direction: Direction = "above"
    window: int = 28 * 24
    horizon: int = 24
    step: int = 3


def _windows(
    history: pd.DataFrame, threshold: float, grid: Grid
) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """(training window, truth) per origin, skipping origins already beyond the threshold."""
    hist = history.dropna(subset=["y"]).sort_values("ds", ignore_index=True)
    window, horizon = grid.window, grid.horizon
    out = []
    for origin in origins(hist, window_hours=window, horizon_hours=horizon, step_hours=grid.step):
        train = hist[(hist["ds"] >= origin - window * HOUR) & (hist["ds"] < origin)]
        if train.empty or _beyond(train["y"].iloc[-1], threshold, grid.direction):
            continue
        now = train["ds"].iloc[-1]
        out.append((train, hist[(hist["ds"] > now) & (hist["ds"] <= now + horizon * HOUR)]))
    return out


def count_origins(
    histories: Mapping[str, pd.DataFrame], thresholds: Mapping[str, float], grid: Grid
) -> tuple[int, int]:
    """(origins, origins skipped because the series was already beyond the threshold)."""
    total = beyond = 0
    for key, history in histories.items():
        hist = history.dropna(subset=["y"]).sort_values("ds", ignore_index=True)
        n = len(
            origins(
                hist, window_hours=grid.window, horizon_hours=grid.horizon, step_hours=grid.step
            )
        )
        total += n
        beyond += n - len(_windows(history, thresholds[key], grid))
    return total, beyond


def _beyond(value: float, threshold: float, direction: Direction) -> bool:
    return bool(value >= threshold) if direction == "above" else bool(value <= threshold)


def _case(
    key: str,
    forecast: pd.DataFrame,
    truth: pd.DataFrame,
    now: pd.Timestamp,
    threshold: float,
    direction: Direction,
) -> Case:
    fc = forecast[forecast["ds"] > now]
    crossed = truth.loc[[_beyond(v, threshold, direction) for v in truth["y"]], "ds"]
    joined = fc.merge(truth, on="ds")
    inside = (joined["y"] >= joined["yhat_lower"]) & (joined["y"] <= joined["yhat_upper"])
    return Case(
        key,
        now,
        fc["ds"].to_numpy(),
        step_probabilities(fc, threshold, direction),
        pd.Timestamp(crossed.iloc[0]) if len(crossed) else None,
        float((joined["y"] - joined["yhat"]).abs().sum()),
        len(joined),
        int(inside.sum()),
        conformal.ratios(joined),
        fc,
        truth,
    )


def baseline_cases(
    histories: Mapping[str, pd.DataFrame],
    thresholds: Mapping[str, float],
    grid: Grid = Grid(),
    *,
    non_negative: bool = True,
) -> dict[str, list[Case]]:
    """Cases of every baseline in ``baselines.BASELINES`` (cheap: computed in this process);
    ``non_negative`` clips the forecasts at zero (counts)."""
    out: dict[str, list[Case]] = {name: [] for name in BASELINES}
    for key, history in histories.items():
        t = thresholds[key]
        for train, truth in _windows(history, t, grid):
            now = train["ds"].iloc[-1]
            for name, method in BASELINES.items():
                clipped: Callable[..., pd.DataFrame] = method  # all take non_negative
                fc = _safe(partial(clipped, non_negative=non_negative), train, grid.horizon)
                if fc is not None:
                    out[name].append(_case(key, fc, truth, now, t, grid.direction))
    return out


def _safe(method: Forecaster, train: pd.DataFrame, horizon: int) -> pd.DataFrame | None:
    try:
        return method(train, horizon)
    except ForecastError:
        return None


def prophet_cases(
    histories: Mapping[str, pd.DataFrame],
    thresholds: Mapping[str, float],
    grid: Grid = Grid(),
    workers: int = 2,
    config: ProphetConfig = FAST_CONFIG,
) -> list[Case]:
    """Cases of a Prophet configuration (default: production's), every window fitted on the
    pool."""
    windows: dict[Hashable, tuple[str, pd.DataFrame, pd.DataFrame]] = {}
    for key, history in histories.items():
        for train, truth in _windows(history, thresholds[key], grid):
            windows[(key, train["ds"].iloc[-1])] = (key, train, truth)
    jobs = ((name, train) for name, (_, train, _) in windows.items())
    results = fit_many(jobs, config, workers, horizon_hours=grid.horizon)
    cases = []
    for name, result in results.items():
        key, train, truth = windows[name]
        if result.forecast is not None:
            now = train["ds"].iloc[-1]
            cases.append(_case(key, result.forecast, truth, now, thresholds[key], grid.direction))
    return cases


def score(cases: Sequence[Case], rule: DecisionRule, name: str, step: int = 3) -> Score:
    """Pooled score of ``rule`` over ``cases`` (TP: warned and crossed within the horizon).

    TP/FP/FN/TN count origins. Lead is counted per crossing event (a series' crossing hour):
    crossing - ``now`` of the first origin that warned truly before it, so a method that
    warns earlier and keeps warning gets the longer lead (NAB-style, not a median over the
    TP origins, which rewards warning late only).
    """
    ordered = sorted(cases, key=lambda c: (c.key, c.now))
    total = Score(name)
    streak, last, warned_before = 0, None, False
    detected: set[tuple[str, pd.Timestamp]] = set()
    for case in ordered:
        held = case.max_p >= rule.cut - 1e-12
        contiguous = (
            last is not None and last.key == case.key and case.now - last.now <= step * HOUR
        )
        streak = (streak + 1 if contiguous else 1) if held else 0
        warned = streak >= rule.consecutive
        outcome = _outcome(case, rule, name, warned)
        if outcome.fp and not (contiguous and warned_before):
            outcome = replace(outcome, fp_episodes=1)  # a new run of false warnings
        if outcome.tp and case.truth is not None:
            event = (case.key, case.truth)
            if event in detected:
                outcome = replace(outcome, leads_hours=())  # a later warning of the same event
            detected.add(event)
        total += outcome
        last, warned_before = case, warned
    # False alarms are spread over the time at risk: one step per scored origin.
    return replace(total, site_weeks=len(cases) * step / 168.0)


def _outcome(case: Case, rule: DecisionRule, name: str, warned: bool) -> Score:
    accuracy = Score(
        name, abs_error_sum=case.abs_error, n_points=case.n_points, n_covered=case.n_covered
    )
    actual = case.truth
    if warned and actual is not None:
        hit = np.flatnonzero(case.p >= rule.cut - 1e-12)
        predicted = pd.Timestamp(case.ds[hit[0]]) if len(hit) else actual
        lead = (actual - case.now) / HOUR
        timing = abs(predicted - actual) / HOUR
        return accuracy + Score(name, tp=1, leads_hours=(lead,), timing_errors_hours=(timing,))
    if warned:
        return accuracy + Score(name, fp=1)
    return accuracy + (Score(name, fn=1) if actual is not None else Score(name, tn=1))


def compare(
    prophet: Mapping[str, Sequence[Case]], baselines: Mapping[str, Sequence[Case]], step: int = 3
) -> list[tuple[DecisionRule | None, Score]]:
    """Every candidate rule on each Prophet configuration's cases (by label, e.g. ``prophet``
    or ``prophet multiplicative``; a label in ``decision.BLEND`` is a blend's cases and one in
    ``AGREEMENT_LABELS`` an agreement's, and their rules name that method), then each baseline
    with the ``yhat`` rule."""
    rows: list[tuple[DecisionRule | None, Score]] = []
    for label, cases in prophet.items():
        method = label if label in BLEND else AGREEMENT_LABELS.get(label)
        for candidate in CANDIDATES:
            rule = replace(candidate, method=method) if method else candidate
            name = rule.name if method else f"{label} {rule.name}"
            rows.append((rule, score(cases, rule, name, step)))
    rows += [(None, score(cases, BASELINE_RULE, name, step)) for name, cases in baselines.items()]
    return rows


AGREEMENT_LABELS: dict[str, str] = {f"prophet & {naive}": m for m, naive in AGREEMENT.items()}
"""The cases' label of each agreement the cycle can publish (on the production seasonality
mode): its ``decision.AGREEMENT`` method."""


def agreement_cases(prophet: Sequence[Case], naive: Sequence[Case]) -> list[Case]:
    """Prophet's cases where the baseline warns too (its ``yhat`` rule holds at the origin),
    probability 0 elsewhere: a Prophet rule scored on them warns only when both methods do."""
    warns = {(c.key, c.now) for c in naive if c.max_p >= BASELINE_RULE.cut - 1e-12}
    return [c if (c.key, c.now) in warns else replace(c, p=np.zeros_like(c.p)) for c in prophet]


def blend_cases(
    prophet: Sequence[Case],
    naive: Sequence[Case],
    thresholds: Mapping[str, float],
    direction: Direction,
    *,
    non_negative: bool,
) -> list[Case]:
    """Cases of the equal-weight blend (``blend.blend``) of Prophet's and the baseline's
    forecasts at each origin where both have one (no extra fit; weights fixed at 1/2, not
    fitted on the scored series)."""
    by_origin = {(c.key, c.now): c for c in naive}
    out = []
    for c in prophet:
        other = by_origin.get((c.key, c.now))
        if other is None or c.forecast is None or other.forecast is None or c.observed is None:
            continue
        fc = blend(c.forecast, other.forecast, non_negative=non_negative)
        out.append(_case(c.key, fc, c.observed, c.now, thresholds[c.key], direction))
    return out


def calibration_of(cases: Sequence[Case]) -> Calibration | None:
    """Isotonic map from max-step probability to the observed crossing frequency."""
    if len(cases) < 20 or all(c.truth is None for c in cases):
        return None
    return calibrate([c.max_p for c in cases], [c.truth is not None for c in cases])
