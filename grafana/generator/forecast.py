"""预测质量 Forecast quality: a placeholder until the forecaster's tables and views exist."""

from __future__ import annotations

from grafana.generator.model import Board, Json
from grafana.generator.panels import text

UID = "qw-forecast"

PLACEHOLDER = """
### 预测质量 Forecast quality

This dashboard will show backtest scores per indicator and horizon, forecast against actual,
and storage-deadline breach predictions that hit or missed.

The forecaster does not publish its results to the database yet; its panels are added when
the `reporting` views over its tables exist (see docs/dashboards.md).
"""


def build() -> Json:
    board = Board(
        UID,
        "预测质量 Forecast quality",
        "Backtest scores, forecast against actual, breach predictions hit and miss.",
        ["forecast"],
        time_from="now-7d",
    )
    board.add(text("预测质量 Forecast quality", PLACEHOLDER), 24, 8)
    return board.build()
