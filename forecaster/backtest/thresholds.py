"""``quaywatch backtest``'s threshold part: replay stored hourly history (the simulator's, with
its incidents, or any real history in the database) or an external ``timestamp,value`` CSV.

For each indicator, a sample of series (the busiest sites by default, where the simulator's
incidents happen, plus the national rollup) is scored with every candidate decision rule on
Prophet (in each seasonality mode of ``Replay``), on the blend of Prophet (the first mode) with
each baseline of ``decision.BLEND``, and with each baseline on the same origins;
``champion.choose`` picks the champion among Prophet's and the blends' candidates and the
seasonal-naive baselines, the champion's own cases give the calibration, and ``holdout``
repeats the choice on the earlier half of the origins to score it on the later half.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

import pandas as pd
from sqlalchemy import Engine, text

from forecaster.backtest import rules as rb
from forecaster.backtest.champion import AGREEMENT as AGREEMENT_JOIN
from forecaster.backtest.champion import Candidate, best, f1_floor
from forecaster.backtest.champion import choose as choose_champion
from forecaster.backtest.conformal import BandCoverage, band_coverage, pooled
from forecaster.backtest.scoring import Score
from forecaster.crossings.decision import AGREEMENT, BLEND, SEASONAL_NAIVE, Champion, DecisionRule
from forecaster.crossings.threshold_crossing import Direction
from forecaster.prophet.batch import FAST_CONFIG
from forecaster.prophet.model import ProphetConfig
from forecaster.series import forecastable_series, hour_floor, load_histories

SeasonalityMode = Literal["additive", "multiplicative"]


@dataclass(frozen=True)
class Replay:
    """Backtest settings (defaults: the production window, 24 h ahead, an origin every 3 h)."""

    window_hours: int = 28 * 24
    horizon_hours: int = 24
    step_hours: int = 3
    workers: int = 2
    config: ProphetConfig = FAST_CONFIG
    non_negative: bool = True  # clip forecasts (Prophet's and the baselines') at zero: counts
    # Prophet is scored in each mode; the first is the production one (bands, origin counts).
    seasonality_modes: tuple[SeasonalityMode, ...] = ("additive",)
    # Also score "Prophet and a seasonal naive both warn" (``decision.AGREEMENT``; no extra
    # fit). The cycle publishes those of the production mode, "prophet & seasonal_naive_24h".
    agreement: bool = True
    # Score Prophet's rules on the equal-weight blend of Prophet (the first mode: the one the
    # cycle fits) with each baseline of ``decision.BLEND``; the cycle can publish a blend
    # champion.
    blends: bool = True


@dataclass
class IndicatorResult:
    """Scores of one indicator: one row per method, the chosen rule and its calibration.

    ``chosen`` is None when Prophet scored no origin, or when the threshold was crossed within
    the horizon of none of them (every rule would score F1 0: nothing to choose from). Of
    ``origins``, ``skipped_beyond`` were already beyond the threshold at the origin (not a
    forecast question) and ``skipped_failed`` had no Prophet forecast (fit failed or skipped,
    e.g. too few points).
    """

    subject: str
    series: int
    rows: list[tuple[DecisionRule | None, Score]]
    chosen: DecisionRule | None
    chosen_score: Score | None
    thresholds: dict[str, float] = field(default_factory=dict)
    origins: int = 0
    skipped_beyond: int = 0
    skipped_failed: int = 0
    bands: list[BandCoverage] = field(default_factory=list)  # Prophet's, per series
    champion: Champion | None = None  # scores, runner-up and why ``chosen`` won
    holdout: Holdout | None = None  # the same choice made on the earlier origins only

    @property
    def scored(self) -> int:
        return self.origins - self.skipped_beyond - self.skipped_failed


def default_nodes(engine: Engine, sites: int = 10) -> list[str]:
    """The ``sites`` busiest sites (by simulator weight) and the national node."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT node_id FROM org_node WHERE level = 'site' ORDER BY weight DESC LIMIT :n"),
            {"n": sites},
        )
        return [row[0] for row in rows] + ["CN"]


def data_end(engine: Engine) -> datetime:
    with engine.connect() as conn:
        latest = conn.execute(text("SELECT max(bucket) FROM metric_hourly")).scalar()
    if latest is None:
        raise ValueError("metric_hourly is empty: nothing to replay")
    return hour_floor(latest) + timedelta(hours=1)


def load(
    engine: Engine, nodes: Sequence[str], indicators: Sequence[str] | None, days: int, end: datetime
) -> dict[str, dict[str, pd.DataFrame]]:
    """``{indicator: {node_id: history}}`` over the ``days`` before ``end``."""
    since = end - timedelta(days=days)
    out: dict[str, dict[str, pd.DataFrame]] = {}
    with engine.connect() as conn:
        keys = forecastable_series(
            conn, since, end, min_points=24 * 7, nodes=nodes, indicators=indicators
        )
        for key, history in load_histories(conn, keys, since, end):
            out.setdefault(key.indicator_code, {})[key.node_id] = history
    return out


def prophet_label(mode: str) -> str:
    """Method name of Prophet's rules in one seasonality mode (additive, production's, is
    plain ``prophet``)."""
    return "prophet" if mode == "additive" else f"prophet {mode}"


def score_indicator(
    subject: str,
    histories: dict[str, pd.DataFrame],
    replay: Replay,
    *,
    thresholds: dict[str, float] | None = None,
    direction: Direction = "above",
) -> IndicatorResult | None:
    """All methods on one indicator's series; None when no series has a usable threshold."""
    if thresholds is None:
        found = {k: rb.threshold_for(h["y"]) for k, h in histories.items()}
        thresholds = {k: t for k, t in found.items() if t is not None}
    usable = {k: histories[k] for k in thresholds}
    if not usable:
        return None
    grid = rb.Grid(direction, replay.window_hours, replay.horizon_hours, replay.step_hours)
    config = replace(replay.config, non_negative=replay.non_negative)
    prophet = {
        prophet_label(mode): rb.prophet_cases(
            usable, thresholds, grid, replay.workers, replace(config, seasonality_mode=mode)
        )
        for mode in replay.seasonality_modes
    }
    record = prophet[prophet_label(replay.seasonality_modes[0])]  # bands and counts: the first
    baselines = rb.baseline_cases(usable, thresholds, grid, non_negative=replay.non_negative)
    total, beyond = rb.count_origins(usable, thresholds, grid)
    if replay.agreement:
        prophet |= {
            f"{label}{AGREEMENT_JOIN}{naive}": rb.agreement_cases(cases, baselines[naive])
            for label, cases in list(prophet.items())
            for naive in SEASONAL_NAIVE
        }
    if replay.blends:
        prophet |= {
            method: rb.blend_cases(
                record, baselines[naive], thresholds, direction, non_negative=replay.non_negative
            )
            for method, naive in BLEND.items()
        }
    rows = rb.compare(prophet, baselines, replay.step_hours)
    result = IndicatorResult(
        subject, len(usable), rows, None, None, thresholds, total, beyond,
        total - beyond - len(record), band_coverage(record, grid.horizon),
    )  # fmt: skip
    if not any(prophet.values()):
        return result  # a rule chosen from zero scored origins would be noise
    if not any(case.truth is not None for case in record):
        return result  # every rule has F1 0 where nothing crossed: a "champion" would be noise
    won = choose_champion(_candidates(rows))
    cases = _cases_of(won, prophet, baselines)
    q = pooled(result.bands, subject).median_factor
    result.chosen = replace(
        won.rule,
        calibration=rb.calibration_of(cases),
        conformal_factor=q if math.isfinite(q) else None,
    )
    result.chosen_score, result.champion = won.score, won
    result.holdout = holdout(prophet, baselines, replay.step_hours)
    return result


def _cases_of(
    won: Champion,
    prophet: Mapping[str, Sequence[rb.Case]],
    baselines: Mapping[str, Sequence[rb.Case]],
) -> Sequence[rb.Case]:
    """The cases the champion was scored on (a blend's and a baseline's by method name)."""
    method = won.rule.method
    if method in BLEND:
        return prophet[method]
    if method in SEASONAL_NAIVE:
        return baselines[method]
    if method in AGREEMENT:
        return prophet[f"prophet{AGREEMENT_JOIN}{AGREEMENT[method]}"]
    return prophet[won.score.method.removesuffix(f" {won.rule.name}")]


def _candidates(rows: Sequence[tuple[DecisionRule | None, Score]]) -> list[Candidate]:
    """Prophet's and the blends' rules and, with the yhat rule they were scored with, the
    seasonal naives."""
    candidates = [(rule, s) for rule, s in rows if rule is not None]
    return candidates + [
        (DecisionRule(method=s.method), s) for _, s in rows if s.method in SEASONAL_NAIVE
    ]


@dataclass(frozen=True)
class Holdout:
    """The champion chosen on the origins before ``split`` only, and the later origins' scores
    of that candidate, of the blend candidate the same rule ranks first on the earlier origins
    (if blends were scored) and of each seasonal naive: the choice measured out of sample."""

    split: pd.Timestamp
    champion: Champion
    later: list[Score]


def holdout(
    prophet: Mapping[str, Sequence[rb.Case]],
    baselines: Mapping[str, Sequence[rb.Case]],
    step: int,
) -> Holdout | None:
    """Choose on the earlier half of the origins, score on the later half (None: too few)."""
    nows = sorted({c.now for cases in baselines.values() for c in cases})
    if len(nows) < 2:
        return None
    split = nows[len(nows) // 2]

    def part(cases: Sequence[rb.Case], later: bool) -> list[rb.Case]:
        return [c for c in cases if (c.now >= split) == later]

    halves = [
        rb.compare(
            {k: part(v, later) for k, v in prophet.items()},
            {k: part(v, later) for k, v in baselines.items()},
            step,
        )
        for later in (False, True)
    ]
    won = choose_champion(_candidates(halves[0]))
    blend = best_blend(halves[0])
    scores = {s.method: s for _, s in halves[1]}
    first = [won.score.method, *([blend[1].method] if blend else [])]
    names = dict.fromkeys([*first, *SEASONAL_NAIVE])  # a naive or blend champion once
    return Holdout(split, won, [scores[name] for name in names])


def best_blend(rows: Sequence[tuple[DecisionRule | None, Score]]) -> Candidate | None:
    """The blend candidate of ``rows`` that ``champion.choose`` ranks first (against the same
    F1 floor), None when no blend was scored."""
    candidates = _candidates(rows)
    blends = [c for c in candidates if c[0].is_blend]
    floor = f1_floor(candidates)
    return best(blends, floor[1].f1 if floor else None) if blends else None
