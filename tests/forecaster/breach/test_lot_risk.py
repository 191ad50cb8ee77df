from __future__ import annotations

import pandas as pd
import pytest

from forecaster.breach.lot_risk import congestion_factor, site_congestion, stage_at
from tests.forecaster.helpers import LATER_STAGE_TIMES

T = pd.Timestamp("2026-04-10 12:00", tz="UTC")
H = pd.Timedelta(hours=1)


def lot(**times) -> dict:
    return {"arrived_at": T - 50 * H, **dict.fromkeys(LATER_STAGE_TIMES, pd.NaT), **times}


def test_the_stage_clock_starts_when_the_lot_entered_its_current_stage():
    lots = pd.DataFrame(
        [
            lot(),
            lot(declared_at=T - 60 * H),  # declared before arrival: the clock starts at arrival
            lot(declared_at=T - 40 * H, inspection_started_at=T - 30 * H),
            lot(declared_at=T - 40 * H, inspection_started_at=T + 5 * H),  # not yet at T
            lot(declared_at=T - 40 * H, held_at=T - 10 * H, hold_lifted_at=T - 2 * H),
            lot(declared_at=T - 40 * H, held_at=T - 10 * H),
        ]
    )
    state = stage_at(lots, T)
    assert state["stage"].tolist() == [
        "arrived",
        "declared",
        "inspection_started",
        "declared",
        "declared",
        "held",
    ]
    hours = ((T - state["entered_at"]) / H).tolist()
    assert hours == [50.0, 50.0, 30.0, 40.0, 40.0, 10.0]


def test_congestion_is_queue_over_throughput_relative_to_normal_and_bounded():
    assert congestion_factor(100, 100, 10, 10) == pytest.approx(1.0)
    gate_closed = congestion_factor(150, 100, 0.0, 10)
    assert gate_closed == 4.0  # clipped
    assert congestion_factor(50, 100, 10, 10) == pytest.approx(60 / 110)
    assert congestion_factor(float("nan"), 100, 10, 10) == 1.0


def test_site_congestion_needs_both_indicators_of_a_site():
    fc = lambda v: pd.DataFrame({"yhat": [v] * 24})  # noqa: E731
    hist = lambda v: pd.DataFrame({"y": [v] * 168})  # noqa: E731
    forecasts = {
        ("A", "lots_on_site"): fc(20),
        ("A", "removals_per_hour"): fc(4),
        ("B", "lots_on_site"): fc(1),
    }
    histories = {("A", "lots_on_site"): hist(10), ("A", "removals_per_hour"): hist(4)}
    factors = site_congestion(forecasts, histories)
    assert list(factors.index) == ["A"] and factors["A"] == pytest.approx(30 / 20)
