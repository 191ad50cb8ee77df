"""The champion chosen on the earlier half of the origins and scored on the later half."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecaster.backtest import rules as rb
from forecaster.backtest.thresholds import holdout

T0 = pd.Timestamp("2026-04-01")
H = pd.Timedelta(hours=1)


def cases(warns: list[bool], crossed: list[bool]) -> list[rb.Case]:
    out = []
    for i, (warn, cross) in enumerate(zip(warns, crossed, strict=True)):
        now = T0 + 3 * i * H
        p = np.array([0.9 if warn else 0.0])
        out.append(rb.Case("s", now, np.array([now + H]), p, now + H if cross else None, 0, 0, 0))
    return out


def test_the_choice_is_made_on_the_earlier_origins_and_scored_on_the_later_ones():
    crossed = [True, False, True, False, True, False, True, False]
    right_early = [True, False, True, False, False, True, False, True]  # wrong after the split
    always = [True] * 8
    baselines = {"seasonal_naive_24h": cases(always, crossed), "seasonal_naive_168h": []}
    held = holdout({"prophet": cases(right_early, crossed)}, baselines, step=3)
    assert held is not None and held.split == T0 + 12 * H
    assert held.champion.score.method == "prophet edge"  # perfect on the first four origins
    later = {s.method: s for s in held.later}
    assert list(later) == ["prophet edge", "seasonal_naive_24h", "seasonal_naive_168h"]
    assert later["prophet edge"].f1 == 0.0 and later["seasonal_naive_24h"].f1 == 2 / 3


def test_the_best_blend_chosen_on_the_earlier_origins_is_scored_on_the_later_ones_too():
    crossed = [True, False, True, False, True, False, True, False]
    blend_warns = [True, True, True, False, True, True, True, True]  # one false warning early
    baselines = {"seasonal_naive_24h": cases([True] * 8, crossed), "seasonal_naive_168h": []}
    prophet = {"prophet": cases(crossed, crossed), "blend_24h": cases(blend_warns, crossed)}
    held = holdout(prophet, baselines, step=3)
    assert held is not None and held.champion.score.method == "prophet edge"
    later = {s.method: s for s in held.later}
    assert list(later) == [
        "prophet edge",
        "blend_24h edge",
        "seasonal_naive_24h",
        "seasonal_naive_168h",
    ]
    assert later["blend_24h edge"].fp == 2 and later["prophet edge"].f1 == 1.0


def test_too_few_origins_give_no_holdout():
    one = {"seasonal_naive_24h": cases([True], [True])}
    assert holdout({"prophet": cases([True], [True])}, one, step=3) is None
