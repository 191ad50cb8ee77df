"""Shapes behind the simulator: daily and weekly rhythms, Chinese holidays, hazardous mix.

Figures come from reference/customs-domain.md (§2-§4); where that note marks a figure as a guess,
so is it here.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

# Arrivals by local hour. Terminals run 24/7 with a daytime trucking peak; airports peak in the
# evening freighter bank; land crossings follow office hours.
_DIURNAL: dict[str, list[float]] = {
    "SEA": [3, 2, 2, 2, 2, 3, 4, 5, 6, 7, 7, 6, 5, 6, 7, 7, 6, 6, 5, 5, 5, 4, 4, 3],
    "RIV": [2, 2, 2, 2, 2, 3, 4, 6, 7, 7, 7, 6, 5, 6, 7, 7, 6, 5, 4, 4, 3, 3, 2, 2],
    "AIR": [5, 4, 3, 2, 2, 2, 3, 4, 5, 5, 5, 5, 5, 5, 5, 5, 6, 7, 8, 8, 8, 7, 6, 6],
    "LAND": [
        0.5,
        0.5,
        0.5,
        0.5,
        0.5,
        1,
        2,
        6,
        9,
        10,
        10,
        8,
        6,
        8,
        10,
        10,
        9,
        7,
        4,
        2,
        1,
        1,
        1,
        0.5,
    ],
    "RAIL": [4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 4, 4, 4, 4, 4, 4],
    "BZ": [1, 1, 1, 1, 1, 1, 2, 5, 8, 9, 9, 7, 5, 7, 9, 9, 8, 6, 3, 2, 1, 1, 1, 1],
}
HOUR_WEIGHTS = {kind: np.array(w) / sum(w) for kind, w in _DIURNAL.items()}

# Monday..Sunday: Saturday is lighter, Sunday lightest (declarations cluster on weekdays).
WEEKDAY_FACTOR = (1.05, 1.08, 1.08, 1.06, 1.04, 0.85, 0.72)

# Declared hazardous share of lots by site type [guess: 2-4% at seaports].
HAZARD_SHARE = {"SEA": 0.035, "RIV": 0.03, "RAIL": 0.02, "LAND": 0.015, "AIR": 0.012, "BZ": 0.01}

# IMDG class mix among hazardous lots, with a typical UN number each.
HAZARD_MIX = (
    ("3", 0.30, "UN1263"),
    ("9", 0.22, "UN3480"),
    ("8", 0.15, "UN1760"),
    ("6.1", 0.08, "UN2810"),
    ("2.1", 0.05, "UN1075"),
    ("2.2", 0.03, "UN1066"),
    ("5.1", 0.05, "UN1479"),
    ("4.1", 0.04, "UN1325"),
    ("4.3", 0.02, "UN1396"),
    ("5.2", 0.01, "UN3107"),
    ("1.4", 0.01, "UN0012"),
    ("7", 0.004, "UN2915"),
    ("2.3", 0.006, "UN1005"),
)
HAZARD_CLASSES = [c for c, _, _ in HAZARD_MIX]
HAZARD_P = np.array([p for _, p, _ in HAZARD_MIX]) / sum(p for _, p, _ in HAZARD_MIX)
HAZARD_UN = [u for _, _, u in HAZARD_MIX]

# Spring Festival (first day of the lunar year) and the National Day golden week.
SPRING_FESTIVAL = (
    date(2024, 2, 10),
    date(2025, 1, 29),
    date(2026, 2, 17),
    date(2027, 2, 6),
    date(2028, 1, 26),
)


def holiday_factor(day: date) -> float:
    """Volume multiplier: -35% in the Spring Festival week, -15% for two weeks either side,
    a +10% export rush before it, and -20% in the National Day golden week."""
    for festival in SPRING_FESTIVAL:
        offset = (day - festival).days
        if -3 <= offset <= 6:
            return 0.65
        if -21 <= offset < -14:
            return 1.10
        if -14 <= offset < -3 or 6 < offset <= 20:
            return 0.85
    if day.month == 10 and 1 <= day.day <= 7:
        return 0.8
    return 1.0


def day_factor(day: date) -> float:
    return holiday_factor(day) * WEEKDAY_FACTOR[day.weekday()]


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]
