"""The warning champion of one indicator or CSV series, chosen from backtest scores.

The candidates are Prophet's decision rules (in every seasonality mode scored), the
seasonal-naive baselines (``decision.SEASONAL_NAIVE``, each with the ``yhat`` rule it was scored
with) and the same rules on the blends of Prophet with a baseline (``decision.BLEND``). The
champion is the candidate with the **fewest false-alarm episodes per site-week among those whose
F1 is at least the best seasonal naive's** (ties: the higher F1, then the longer median lead per
crossing, then the simpler method: a seasonal naive before a Prophet rule before a blend of both
before an agreement of both, so a candidate must do strictly better to displace a simpler one;
an agreement rule, which warns only when Prophet and a seasonal naive both do, ties with its
naive wherever Prophet's rule always holds). A warning nobody acts on costs attention; a rule
that catches fewer crossings than the value one season back is no improvement, so the best
baseline's F1 is the floor and false alarms decide above it. The best baseline always reaches
its own F1, so a baseline wins wherever no Prophet rule is at least as accurate with fewer false
alarms. Without a seasonal naive among the candidates, or when the best of them catches no
crossing (F1 0), there is no floor: the best F1 wins, and the reason says so. A floor of 0 is no
bar: false alarms alone would then choose the most cautious rule, one that catches a crossing in
four, over one that catches most of them.

The runner-up is the candidate of the other family (Prophet, a blend or an agreement for a
baseline champion; a baseline for the others) that the same rule ranks first, against the same
floor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from forecaster.backtest.scoring import Score
from forecaster.crossings.decision import SEASONAL_NAIVE, Champion, DecisionRule

Candidate = tuple[DecisionRule, Score]
AGREEMENT = " & "
"""Joins the methods of an agreement candidate's name (``prophet & seasonal_naive_168h``)."""
_TOLERANCE = 1e-9  # F1 values are ratios of small counts: equal ones may differ in the last bit


def false_alarms(score: Score) -> float:
    """False-alarm episodes per site-week, NaN (no time at risk) counted as the worst."""
    value = score.false_alarm_episodes_per_site_week
    return math.inf if math.isnan(value) else value


def _lead(score: Score) -> float:
    value = score.median_lead_hours
    return -math.inf if math.isnan(value) else value


def _is_baseline(candidate: Candidate) -> bool:
    return candidate[0].method in SEASONAL_NAIVE


def _complexity(candidate: Candidate) -> int:
    """0 for a seasonal naive, 1 for a Prophet rule, 2 for a blend of both, 3 for both
    agreeing."""
    if _is_baseline(candidate):
        return 0
    if candidate[0].is_blend:
        return 2
    return 3 if AGREEMENT in candidate[1].method else 1


def f1_floor(candidates: Sequence[Candidate]) -> Candidate | None:
    """The seasonal naive with the best F1 (ties: fewer false alarms); None without one, or
    when it catches no crossing (F1 0 sets no bar)."""
    baselines = [c for c in candidates if _is_baseline(c)]
    if not baselines:
        return None
    top = max(baselines, key=lambda c: (c[1].f1, -false_alarms(c[1])))
    return top if top[1].f1 > _TOLERANCE else None


def best(candidates: Sequence[Candidate], floor: float | None) -> Candidate:
    """The candidate ``choose`` ranks first among ``candidates`` against the F1 ``floor``."""
    at_floor = [c for c in candidates if floor is not None and c[1].f1 >= floor - _TOLERANCE]
    if at_floor:
        return min(
            at_floor,
            key=lambda c: (false_alarms(c[1]), -c[1].f1, -_lead(c[1]), _complexity(c)),
        )
    return max(
        candidates, key=lambda c: (c[1].f1, -false_alarms(c[1]), _lead(c[1]), -_complexity(c))
    )


def choose(candidates: Sequence[Candidate]) -> Champion:
    """The champion of ``candidates`` with its runner-up and the reason in words."""
    if not candidates:
        raise ValueError("no candidates to choose from")
    floor = f1_floor(candidates)
    floor_f1 = floor[1].f1 if floor else None
    won = best(candidates, floor_f1)
    others = [c for c in candidates if _is_baseline(c) != _is_baseline(won)]
    runner_up = best(others, floor_f1) if others else None
    naives = any(_is_baseline(c) for c in candidates)
    return Champion(won[0], won[1], runner_up, _reason(won[1], floor, runner_up, naives))


def _reason(
    score: Score, floor: Candidate | None, runner_up: Candidate | None, naives: bool
) -> str:
    fa = false_alarms(score)
    if floor is None and naives:
        return f"no seasonal naive catches a crossing, so no F1 floor: the best F1 ({score.f1:.2f})"
    if floor is None:
        return f"no seasonal naive scored, so no F1 floor: the best F1 ({score.f1:.2f})"
    base = floor[1]
    head = (
        f"fewest false-alarm episodes per site-week ({fa:.2f}) among candidates at F1 >="
        f" {base.f1:.2f} ({base.method}, the best seasonal naive)"
    )
    if runner_up is None:
        return head
    other = runner_up[1]
    if other.f1 < base.f1 - _TOLERANCE:
        family = _family(runner_up)
        return f"{head}; no {family} candidate reaches it (best {other.method}, F1 {other.f1:.2f})"
    return f"{head}; runner-up {other.method} at {false_alarms(other):.2f}, F1 {other.f1:.2f}"


def _family(candidate: Candidate) -> str:
    return "seasonal-naive" if _is_baseline(candidate) else "Prophet-based"
