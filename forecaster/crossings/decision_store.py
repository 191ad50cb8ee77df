"""Writes ``forecast_decision`` (sql/0103): the warning rule per
indicator chosen by the last applied backtest, with its scores, the runner-up's and why; and
reads it back for the cycle. Every function takes the caller's connection; none commits."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from forecaster.backtest.scoring import Score
from forecaster.crossings.decision import Champion, DecisionRule
from forecaster.crossings.threshold_crossing import Calibration

SCORE_COLUMNS = (
    "f1",
    "precision",
    "recall",
    "false_alarm_episodes_per_site_week",
    "median_lead_hours",
)
"""The scores stored for the champion and (prefixed ``runner_up_``) for the runner-up."""


def load_decisions(conn: Connection) -> dict[str, DecisionRule]:
    """The decision rule per indicator code chosen by the last applied backtest."""
    rows = conn.execute(
        text(
            "SELECT indicator_code, rule, min_probability, consecutive, calibration_x,"
            " calibration_y, method, conformal_factor FROM forecast_decision"
        )
    ).all()
    out = {}
    for code, rule, p, k, xs, ys, method, factor in rows:
        calibration = Calibration(tuple(xs), tuple(ys)) if xs else None
        out[code] = DecisionRule(rule, p, k, calibration, method=method, conformal_factor=factor)
    return out


def _scores(score: Score | None, prefix: str = "") -> dict[str, float | None]:
    values = {c: getattr(score, c) if score else None for c in SCORE_COLUMNS}
    return {prefix + c: None if v is None or math.isnan(v) else float(v) for c, v in values.items()}


_COLUMNS = (
    "indicator_code rule min_probability consecutive calibration_x calibration_y"
    " false_alarm_budget backtest_id method reason conformal_factor runner_up"
).split() + [*SCORE_COLUMNS, *(f"runner_up_{c}" for c in SCORE_COLUMNS)]


def save_decision(
    conn: Connection,
    indicator_code: str,
    rule: DecisionRule,
    *,
    false_alarm_budget: float,
    backtest_id: int | None,
    chosen: Champion | None = None,
) -> None:
    """Upsert one indicator's decision; ``chosen`` adds the scores, runner-up and reason."""
    cal = rule.calibration
    runner_up = chosen.runner_up if chosen else None
    factor = rule.conformal_factor
    params: dict[str, Any] = {
        "indicator_code": indicator_code,
        "rule": rule.rule,
        "min_probability": rule.min_probability,
        "consecutive": rule.consecutive,
        "calibration_x": list(cal.x) if cal else [],
        "calibration_y": list(cal.y) if cal else [],
        "false_alarm_budget": false_alarm_budget,
        "backtest_id": backtest_id,
        "method": rule.method,
        "reason": chosen.reason if chosen else None,
        # An infinite or NaN median (too few calibration rows) is no factor at all.
        "conformal_factor": factor if factor and math.isfinite(factor) and factor > 0 else None,
        "runner_up": runner_up[1].method if runner_up else None,
        **_scores(chosen.score if chosen else None),
        **_scores(runner_up[1] if runner_up else None, "runner_up_"),
    }
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _COLUMNS[1:])
    conn.execute(
        text(
            f"INSERT INTO forecast_decision ({', '.join(_COLUMNS)}, chosen_at)"
            f" VALUES ({', '.join(':' + c for c in _COLUMNS)}, now())"
            f" ON CONFLICT (indicator_code) DO UPDATE SET {updates}, chosen_at = now()"
        ),
        params,
    )
