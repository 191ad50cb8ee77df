from __future__ import annotations

import numpy as np
import pandas as pd

from forecaster.backtest import deadlines as db
from forecaster.breach.storage_deadlines import fit_dwell
from tests.forecaster.helpers import LATER_STAGE_TIMES

T0 = pd.Timestamp("2026-04-10", tz="UTC")
H = pd.Timedelta(hours=1)


def lots() -> pd.DataFrame:
    """Lots with a 100 h limit arriving hourly; every fourth stays 150 h (a breach)."""
    n = 40
    arrived = pd.Series([T0 + i * H for i in range(n)])
    stay = pd.Series([150.0 if i % 4 == 0 else 60.0 for i in range(n)])
    frame = pd.DataFrame(
        {
            "lot_id": [f"L{i}" for i in range(n)],
            "site_id": ["S1" if i % 2 else "S2" for i in range(n)],
            "hazard_class": "3",
            "arrived_at": arrived,
            "removed_at": arrived + pd.to_timedelta(stay, unit="h"),
            "deadline_at": arrived + 100 * H,
            "warn_at": arrived + 70 * H,
        }
    )
    for column in LATER_STAGE_TIMES:
        frame[column] = pd.NaT
    return frame


def test_the_model_warns_earlier_than_the_static_rule_at_equal_precision():
    history = pd.DataFrame(
        {
            "site_id": "S1",
            "hazard_class": "3",
            "stage": "arrived",
            "dwell_hours": np.r_[np.full(75, 60.0), np.full(25, 150.0)],
        }
    )
    model = fit_dwell(history, min_at_risk=5)
    data = lots()
    checks = [T0 + k * 2 * H for k in range(100)]
    warnings = db.static_warnings(data)
    for p, warned in db.model_warnings(data, model, checks, (0.5, 0.9)).items():
        warnings[f"model p>={p:g}"] = warned
    scores = db.score_scope(data, warnings, site_weeks=2.0)
    by_name = {s.method: s for s in scores}
    static, model_50 = by_name[db.STATIC], by_name["model p>=0.5"]
    assert static.tp == 10 and static.median_lead_hours == 30.0
    # Past 60 h every lot still held is one of the long stays: P(breach) = 1 from 60 h on.
    assert model_50.precision == 1.0 and model_50.median_lead_hours == 40.0
    goal = db.goal(data, warnings, scores)
    assert goal is not None and goal.met and goal.gain_hours == 10.0
