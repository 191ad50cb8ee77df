from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from forecaster.breach.storage_deadlines import LEVELS, fit_dwell, score_lots

NOW = pd.Timestamp("2025-06-10 12:00")
SITES, CLASSES, STAGES = (
    ["CNSHA-T1", "CNNGB-T2", "CNTAO-T3"],
    ["3", "5.1", "8", "2.1"],
    ["held", "inspection"],
)


def completed(n: int = 6000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "site_id": rng.choice(SITES, n),
            "hazard_class": rng.choice(CLASSES, n),
            "stage": rng.choice(STAGES, n),
            "dwell_hours": rng.gamma(2.0, 18.0, n),  # mean 36 h
        }
    )


def held(elapsed_hours, allowed_hours, site="CNSHA-T1", hazard="3", stage="held") -> pd.DataFrame:
    elapsed = np.atleast_1d(np.asarray(elapsed_hours, dtype=float))
    allowed = np.broadcast_to(np.asarray(allowed_hours, dtype=float), elapsed.shape)
    arrived = NOW - pd.to_timedelta(elapsed, unit="h")
    return pd.DataFrame(
        {
            "lot_id": [f"L{i}" for i in range(len(elapsed))],
            "site_id": site,
            "hazard_class": hazard,
            "stage": stage,
            "arrived_at": arrived,
            "deadline_at": arrived + pd.to_timedelta(allowed, unit="h"),
            "now": NOW,
        }
    )


@pytest.fixture(scope="module")
def model():
    return fit_dwell(completed())


def test_a_lot_near_its_deadline_is_more_likely_to_breach_than_a_fresh_one(model):
    scored = score_lots(held([2.0, 66.0], 72.0), model)
    fresh, near = scored["breach_probability"]
    assert near > fresh
    assert 0.0 < fresh < 0.5


def test_ten_thousand_lots_score_well_under_two_seconds():
    rng = np.random.default_rng(1)
    n = 10_000
    lots = held(rng.uniform(0, 120, n), rng.choice([48.0, 72.0, 96.0], n))
    lots["site_id"] = rng.choice(SITES + ["CNXMN-T9"], n)  # one site with no history
    lots["hazard_class"] = rng.choice(CLASSES + ["6.1"], n)
    lots["stage"] = rng.choice(STAGES, n)
    history = completed(50_000)
    start = time.perf_counter()
    scored = score_lots(lots, fit_dwell(history), congestion=pd.Series({"CNSHA-T1": 1.3}))
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0, f"{elapsed:.2f} s"
    assert len(scored) == n and scored["breach_probability"].between(0, 1).all()


def test_congestion_above_one_raises_breach_probabilities(model):
    lots = held(np.linspace(0, 70, 15), 72.0)
    normal = score_lots(lots, model)["breach_probability"]
    busy = score_lots(lots, model, congestion=pd.Series({"CNSHA-T1": 1.5}))["breach_probability"]
    assert (busy >= normal).all() and (busy > normal).any()


def test_conditional_survival_and_median_on_a_hand_made_distribution():
    history = pd.DataFrame(
        {"site_id": "S", "hazard_class": "3", "stage": "held", "dwell_hours": np.arange(1.0, 101.0)}
    )
    model = fit_dwell(history, min_at_risk=1)
    lot = held(50.0, 80.0, site="S")
    # At risk: dwell 51..100 (50 lots); 20 of them exceed 80 h; their median is 75.5 h.
    scored = score_lots(lot, model).iloc[0]
    assert scored["breach_probability"] == pytest.approx(0.4)
    assert scored["predicted_completion"] == lot["arrived_at"].iloc[0] + pd.Timedelta(hours=75.5)
    assert pd.isna(scored["predicted_breach_at"])
    # Congestion 2: remaining time doubles, so breach needs dwell > 50 + 30/2 = 65 h: 35 of 50.
    busy = score_lots(lot, model, congestion=pd.Series({"S": 2.0})).iloc[0]
    assert busy["breach_probability"] == pytest.approx(0.7)
    assert busy["predicted_completion"] == lot["arrived_at"].iloc[0] + pd.Timedelta(hours=101)
    assert busy["predicted_breach_at"] == lot["deadline_at"].iloc[0]


def test_a_lot_already_past_its_deadline_is_certain(model):
    scored = score_lots(held(80.0, 72.0), model).iloc[0]
    assert scored["breach_probability"] == 1.0
    assert scored["predicted_breach_at"] == held(80.0, 72.0)["deadline_at"].iloc[0]


def test_sparse_segments_fall_back_to_coarser_levels(model):
    known = score_lots(held(10.0, 72.0), model)["dwell_level"].iloc[0]
    unknown_site = score_lots(held(10.0, 72.0, site="CNXMN-T9"), model)["dwell_level"].iloc[0]
    assert LEVELS[known] == ("site_id", "class_group", "stage")
    assert LEVELS[unknown_site] == ("class_group", "stage")


def test_a_lot_held_longer_than_any_completed_lot_is_expected_to_breach(model):
    scored = score_lots(held(5000.0, 6000.0), model).iloc[0]
    assert scored["breach_probability"] == 1.0
    assert scored["dwell_level"] == -1 and pd.isna(scored["predicted_completion"])


def test_now_can_be_passed_instead_of_a_column(model):
    lots = held([5.0, 40.0], 72.0)
    pd.testing.assert_frame_equal(
        score_lots(lots.drop(columns="now"), model, now=NOW), score_lots(lots, model)
    )


def test_non_positive_congestion_is_rejected(model):
    with pytest.raises(ValueError, match="congestion"):
        score_lots(held(5.0, 72.0), model, congestion=pd.Series({"CNSHA-T1": 0.0}))
