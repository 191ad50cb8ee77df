"""The example indicator specs the docs show and the tests apply, so both speak of one spec."""

from __future__ import annotations

from typing import Any

# Written as an operator would: population and measure are left to their defaults.
RIVER_21_OVER_48H: dict[str, Any] = {
    "code": "haz21_river_over_48h",
    "name_en": "Class 2.1 lots held over 48 h at river ports",
    "name_zh": "内河港口滞留超48小时的2.1类危险品批次",
    "unit": "lots",
    "theme": "hazardous_goods",
    "direction": "higher_is_worse",
    "filters": {"hazard_class": ["2.1"], "site_type": ["RIV"], "dwell_over_hours": 48},
}

# An indicator over cargo events rather than lots.
GATE_IN_RIVER_PER_HOUR: dict[str, Any] = {
    "code": "gate_in_river_per_hour",
    "name_en": "Gate-in events per hour at river ports",
    "name_zh": "内河港口每小时进港事件数",
    "unit": "events/h",
    "theme": "throughput_capacity",
    "direction": "neutral",
    "source": "events",
    "window_hours": 2,
    "filters": {"event_kind": ["arrived"], "site_type": ["RIV"]},
    "measure": {"kind": "per_hour"},
}
