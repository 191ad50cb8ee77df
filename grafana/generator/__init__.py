"""Dashboard definitions for Grafana, written into grafana/dashboards/ by grafana/build.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from grafana.generator import alerts, customs, forecast, indicators, national, port

# File name (without .json) -> builder. The order is the order of the docs.
DASHBOARDS: dict[str, Callable[[], dict[str, Any]]] = {
    "national": national.build,
    "customs_centre": customs.build,
    "port": port.build,
    "indicators": indicators.build,
    "alerts": alerts.build,
    "forecast_quality": forecast.build,
}
