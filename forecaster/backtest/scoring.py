"""Rolling-origin backtests for threshold warnings and deadline warnings (reference §5).

Threshold protocol, per origin (every ``step_hours``):

- fit on the ``window_hours`` before the origin; ``now`` is the last observed ``ds``;
- skip the origin if ``y`` at ``now`` is already beyond the threshold (not "ahead of time");
- truth: the first observed ``ds`` in ``(now, now + horizon]`` with ``y`` at or beyond it;
- prediction: ``threshold_crossing.first_crossing`` of the method's forecast under its rule;
- TP/FP/FN/TN per origin; timing error = |predicted - truth| per TP origin;
- lead per crossing event (series, truth): truth - now of the first origin that warned truly
  before it (NAB-style); later warnings of the same crossing add no lead;
- MAE and band coverage over forecast rows that have an observation.

Deadline protocol, per lot: a warning counts only if issued while the lot was held
(``warn_at < released_at``). TP = warned strictly before the breach (lead = breach - warning);
a late warning is a miss; FP = warned, no breach.

``Score`` holds counts, so scores for several series or sites add up with ``+``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from statistics import median
from typing import overload

import numpy as np
import pandas as pd

from forecaster.breach.storage_deadlines import DwellModel, score_lots
from forecaster.crossings.threshold_crossing import Direction, Rule, first_crossing
from forecaster.errors import ForecastError
from forecaster.prophet.model import ProphetConfig, fit, predict

Forecaster = Callable[[pd.DataFrame, int], pd.DataFrame]
HOUR = pd.Timedelta(hours=1)


@dataclass(frozen=True)
class Method:
    """A forecaster plus the decision rule that turns its forecast into a warning."""

    name: str
    forecast: Forecaster
    rule: Rule = "yhat"
    min_probability: float = 0.5
    interval_width: float = 0.8


def rate(part: float, whole: float) -> float:
    """``part / whole``, NaN when there is nothing to divide by (no origin, no time at risk)."""
    return part / whole if whole > 0 else math.nan


class Ratio:
    """A rate of an object's count fields, computed on each access like a ``property``:
    ``Ratio("fp", "site_weeks")`` reads ``rate(self.fp, self.site_weeks)``, and
    ``Ratio("tp", "tp", "fp")`` divides by the sum ``tp + fp``.

    Declared without an annotation, it is no dataclass field, so ``fields``, ``replace`` and
    ``+`` see only the counts, and pooled counts give pooled rates.
    """

    def __init__(self, part: str, *whole: str) -> None:
        self.part, self.whole = part, whole

    @overload
    def __get__(self, obj: None, owner: type) -> Ratio: ...
    @overload
    def __get__(self, obj: object, owner: type) -> float: ...
    def __get__(self, obj: object | None, owner: type) -> Ratio | float:
        if obj is None:
            return self
        return rate(getattr(obj, self.part), sum(getattr(obj, n) for n in self.whole))


@dataclass(frozen=True)
class Score:
    """Counts for one method; rates are derived on access so that ``a + b`` pools correctly.

    ``site_weeks`` is the observation time false alarms are spread over; ``leads_hours`` holds
    one value per detected event (a threshold crossing: from its first true warning; a lot:
    from its warning), ``timing_errors_hours`` one per true positive; ``abs_error_sum``, ``n_points``
    and ``n_covered`` give MAE and band coverage; ``skipped`` counts origins where the
    forecaster raised ``ForecastError``; ``fp_episodes`` counts runs of consecutive false
    warnings as one (what an operator sees as one false alert), where the scorer tracks them.
    """

    method: str
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    site_weeks: float = 0.0
    leads_hours: tuple[float, ...] = ()
    timing_errors_hours: tuple[float, ...] = ()
    abs_error_sum: float = 0.0
    n_points: int = 0
    n_covered: int = 0
    skipped: int = 0
    fp_episodes: int = 0

    def __add__(self, other: Score) -> Score:
        if other.method != self.method:
            raise ValueError(f"cannot pool {self.method!r} with {other.method!r}")
        names = [f.name for f in fields(self) if f.name != "method"]
        return Score(self.method, **{n: getattr(self, n) + getattr(other, n) for n in names})

    precision = Ratio("tp", "tp", "fp")
    recall = Ratio("tp", "tp", "fn")
    false_alarm_rate = Ratio("fp", "fp", "tn")
    false_alarms_per_site_week = Ratio("fp", "site_weeks")
    false_alarm_episodes_per_site_week = Ratio("fp_episodes", "site_weeks")
    mae = Ratio("abs_error_sum", "n_points")
    coverage = Ratio("n_covered", "n_points")

    @property
    def f1(self) -> float:
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.tp else 0.0

    @property
    def median_lead_hours(self) -> float:
        return median(self.leads_hours) if self.leads_hours else math.nan

    @property
    def median_timing_error_hours(self) -> float:
        return median(self.timing_errors_hours) if self.timing_errors_hours else math.nan


def prophet_forecaster(cfg: ProphetConfig | None = None) -> Forecaster:
    """A ``Forecaster`` that fits Prophet on each backtest window (~0.1 s per origin)."""

    def forecast(window: pd.DataFrame, horizon_hours: int) -> pd.DataFrame:
        return predict(fit(window, cfg), horizon_hours)

    return forecast


def _beyond(values: pd.Series, threshold: float, direction: Direction) -> pd.Series:
    return values >= threshold if direction == "above" else values <= threshold


def origins(
    history: pd.DataFrame, *, window_hours: int, horizon_hours: int, step_hours: int
) -> list[pd.Timestamp]:
    """Origins from ``first ds + window`` to ``last ds - horizon``, every ``step_hours``."""
    first, last = history["ds"].min(), history["ds"].max()
    start, end = first + window_hours * HOUR, last - horizon_hours * HOUR
    return (
        list(pd.date_range(start, end, freq=pd.Timedelta(hours=step_hours))) if start <= end else []
    )


def _score_origin(
    method: Method,
    window: pd.DataFrame,
    truth: pd.DataFrame,
    threshold: float,
    direction: Direction,
    horizon_hours: int,
) -> tuple[Score, pd.Timestamp | None]:
    """The origin's score and, for a true positive, the crossing it warned of (the caller
    gives the lead, once per crossing)."""
    now = window["ds"].iloc[-1]
    try:
        fc = method.forecast(window, horizon_hours)
    except ForecastError:
        return Score(method.name, skipped=1), None
    fc = fc[fc["ds"] <= now + horizon_hours * HOUR]
    hit = first_crossing(
        fc,
        threshold,
        direction,
        now,
        rule=method.rule,
        interval_width=method.interval_width,
        min_probability=method.min_probability,
    )
    crossed = truth.loc[_beyond(truth["y"], threshold, direction), "ds"]
    actual = crossed.iloc[0] if len(crossed) else None
    joined = fc.merge(truth, on="ds")
    inside = (joined["y"] >= joined["yhat_lower"]) & (joined["y"] <= joined["yhat_upper"])
    accuracy = Score(
        method.name,
        abs_error_sum=float((joined["y"] - joined["yhat"]).abs().sum()),
        n_points=len(joined),
        n_covered=int(inside.sum()),
    )
    if hit is not None and actual is not None:
        timing = abs(hit.at - actual) / HOUR
        return replace(accuracy, tp=1, timing_errors_hours=(timing,)), pd.Timestamp(actual)
    if hit is not None:
        return replace(accuracy, fp=1), None
    return replace(accuracy, fn=1) if actual is not None else replace(accuracy, tn=1), None


def backtest_threshold(
    history: pd.DataFrame,
    threshold: float,
    methods: Sequence[Method],
    *,
    direction: Direction = "above",
    window_hours: int = 28 * 24,
    horizon_hours: int = 24,
    step_hours: int = 24,
) -> list[Score]:
    """One pooled ``Score`` per method over all origins of one series (one site)."""
    hist = history.dropna(subset=["y"]).sort_values("ds", ignore_index=True)
    scores = {m.name: Score(m.name) for m in methods}
    starts = origins(
        hist, window_hours=window_hours, horizon_hours=horizon_hours, step_hours=step_hours
    )
    detected: set[tuple[str, pd.Timestamp]] = set()  # (method, crossing) warned truly
    for origin in starts:
        window = hist[(hist["ds"] >= origin - window_hours * HOUR) & (hist["ds"] < origin)]
        if window.empty or _beyond(window["y"].iloc[-1:], threshold, direction).iloc[0]:
            continue
        now = window["ds"].iloc[-1]
        truth = hist[(hist["ds"] > now) & (hist["ds"] <= now + horizon_hours * HOUR)]
        for m in methods:
            score, crossing = _score_origin(m, window, truth, threshold, direction, horizon_hours)
            if crossing is not None:
                if (m.name, crossing) not in detected:  # origins run forward: the first warning
                    score = replace(score, leads_hours=((crossing - now) / HOUR,))
                detected.add((m.name, crossing))
            scores[m.name] += score
    weeks = len(starts) * step_hours / 168.0
    return [replace(s, site_weeks=weeks) for s in scores.values()]


def breach_times(lots: pd.DataFrame) -> pd.Series:
    """Ground truth per lot: ``deadline_at`` if the lot was still held then, else NaT.

    A lot with no ``released_at`` counts as held; drop lots whose deadline is after the end of
    the data (censored) before scoring.
    """
    released = pd.to_datetime(lots["released_at"])
    deadline = pd.to_datetime(lots["deadline_at"])
    return deadline.where(released.isna() | (released > deadline))


def score_deadline_warnings(
    lots: pd.DataFrame, warn_at: Mapping[str, pd.Series], *, site_weeks: float = math.nan
) -> list[Score]:
    """Score each method's first warning time per lot (``Series`` indexed by ``lot_id``, NaT =
    never) against ``breach_times(lots)``. ``lots``: ``lot_id, deadline_at, released_at``."""
    truth = breach_times(lots).set_axis(lots["lot_id"])
    released = pd.to_datetime(lots["released_at"]).set_axis(lots["lot_id"])
    out = []
    for name, series in warn_at.items():
        warned_at = pd.to_datetime(series.reindex(truth.index))
        warned_at = warned_at.where(released.isna() | (warned_at < released))
        timely = warned_at.notna() & truth.notna() & (warned_at < truth)
        leads = ((truth - warned_at)[timely] / HOUR).tolist()
        fp = int((warned_at.notna() & truth.isna()).sum())
        fn = int((truth.notna() & ~timely).sum())
        tn = int((warned_at.isna() & truth.isna()).sum())
        score = Score(name, int(timely.sum()), fp, fn, tn, site_weeks, tuple(leads))
        out.append(replace(score, fp_episodes=fp))  # one warning per lot: one episode
    return out


def median_lead_gain(
    lots: pd.DataFrame, warn_at: Mapping[str, pd.Series], method: str, baseline: str = "static"
) -> float:
    """Median over lots both methods warned in time of (lead of ``method`` - lead of
    ``baseline``), in hours; NaN if no lot was caught by both."""
    truth = breach_times(lots).set_axis(lots["lot_id"])
    a = (truth - pd.to_datetime(warn_at[method].reindex(truth.index))) / HOUR
    b = (truth - pd.to_datetime(warn_at[baseline].reindex(truth.index))) / HOUR
    both = (a > 0) & (b > 0)
    return float(np.median((a - b)[both])) if both.any() else math.nan


def model_warn_times(
    lots: pd.DataFrame,
    model: DwellModel,
    check_times: Sequence[pd.Timestamp],
    *,
    min_probability: float = 0.5,
    congestion: pd.Series | None = None,
) -> pd.Series:
    """First check time at which ``score_lots`` gave P(breach) >= ``min_probability`` while
    the lot was held (``arrived_at <= t < released_at``); NaT if never. Indexed by lot_id."""
    first = pd.Series(pd.NaT, index=lots["lot_id"], dtype="datetime64[ns]")
    arrived, released = pd.to_datetime(lots["arrived_at"]), pd.to_datetime(lots["released_at"])
    for t in sorted(check_times):
        held = lots[(arrived <= t) & (released.isna() | (released > t))]
        held = held[first.reindex(held["lot_id"]).isna().to_numpy()]
        if held.empty:
            continue
        scored = score_lots(
            held.drop(columns="now", errors="ignore"), model, congestion=congestion, now=t
        )
        hits = scored.loc[scored["breach_probability"] >= min_probability, "lot_id"]
        first.loc[hits.to_numpy()] = t
    return first


def _fmt(value: float, digits: int = 2) -> str:
    return "–" if math.isnan(value) else f"{value:.{digits}f}"  # en dash: no value


_COLUMNS: dict[str, Callable[[Score], str]] = {  # header -> cell
    "method": lambda s: s.method,
    "TP": lambda s: str(s.tp),
    "FP": lambda s: str(s.fp),
    "FN": lambda s: str(s.fn),
    "TN": lambda s: str(s.tn),
    "precision": lambda s: _fmt(s.precision),
    "recall": lambda s: _fmt(s.recall),
    "F1": lambda s: _fmt(s.f1),
    "false-alarm rate": lambda s: _fmt(s.false_alarm_rate),
    "false alarms / site-week": lambda s: _fmt(s.false_alarms_per_site_week),
    "false-alarm episodes / site-week": lambda s: _fmt(s.false_alarm_episodes_per_site_week),
    "median lead (h)": lambda s: _fmt(s.median_lead_hours, 1),
    "median timing error (h)": lambda s: _fmt(s.median_timing_error_hours, 1),
    "MAE": lambda s: _fmt(s.mae),
    "coverage": lambda s: _fmt(s.coverage),
}


def to_markdown(results: Sequence[Score]) -> str:
    """A GitHub-markdown table of scores, one row per method, for docs/forecasting.md."""
    lines = ["| " + " | ".join(_COLUMNS) + " |", "|" + "---|" * len(_COLUMNS)]
    lines += ["| " + " | ".join(cell(s) for cell in _COLUMNS.values()) + " |" for s in results]
    return "\n".join(lines) + "\n"
