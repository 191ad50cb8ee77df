"""Time ranges and Grafana's interval arithmetic (rangeutil.ts: calculateInterval,
roundInterval, secondsToHms, intervalToMs)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# --- 1. the interval ---------------------------------------------------------------------------

# rangeutil.roundInterval: an interval below the first number rounds to the second.
_ROUND = (
    (10, 1), (15, 10), (35, 20), (75, 50), (150, 100), (350, 200), (750, 500), (1500, 1000),
    (3500, 2000), (7500, 5000), (12500, 10000), (17500, 15000), (25000, 20000), (45000, 30000),
    (90000, 60000), (210000, 120000), (450000, 300000), (750000, 600000), (1050000, 900000),
    (1500000, 1200000), (2700000, 1800000), (5400000, 3600000), (9000000, 7200000),
    (16200000, 10800000), (32400000, 21600000), (86400000, 43200000), (604800000, 86400000),
    (1814400000, 604800000), (3628800000, 2592000000),
)  # fmt: skip
YEAR_MS = 31536000000
_UNIT_MS = {"y": 31536000000, "M": 2592000000, "w": 604800000, "d": 86400000,
            "h": 3600000, "m": 60000, "s": 1000, "ms": 1}  # fmt: skip


def round_interval(ms: float) -> int:
    for below, rounded in _ROUND:
        if ms < below:
            return rounded
    return YEAR_MS


def interval_to_ms(text: str) -> int:
    """rangeutil.intervalToMs: `\\d+(ms|[Mwdhmsy])`; a bare number is seconds."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|[Mwdhmsy])?", text.strip())
    if not match:
        raise ValueError(f"invalid interval {text!r}")
    return int(float(match.group(1)) * _UNIT_MS[match.group(2) or "s"])


def seconds_to_hms(seconds: float) -> str:
    """rangeutil.secondsToHms: only the largest non-zero unit (5400 s gives '1h')."""
    rest = seconds
    for size, unit in ((31536000, "y"), (86400, "d"), (3600, "h"), (60, "m"), (1, "s")):
        count = int(rest // size)
        if count:
            return f"{count}{unit}"
        rest %= size
    millis = int(seconds * 1000)
    return f"{millis}ms" if millis else "less than a millisecond"


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime

    @property
    def from_ms(self) -> int:
        return int(self.start.timestamp() * 1000)

    @property
    def to_ms(self) -> int:
        return int(self.end.timestamp() * 1000)

    @classmethod
    def relative(cls, raw_from: str, raw_to: str = "now", now: datetime | None = None) -> TimeRange:
        now = (now or datetime.now(UTC)).replace(microsecond=0)
        return cls(parse_relative(raw_from, now), parse_relative(raw_to, now))


def parse_relative(text: str, now: datetime) -> datetime:
    """`now`, `now-6h`, `now-30d`, `now+1d` (the time picker's relative forms we use)."""
    if text == "now":
        return now
    match = re.fullmatch(r"now([-+])(\d+)([smhdwMy])", text)
    if not match:
        raise ValueError(f"unsupported relative time {text!r}")
    offset = timedelta(milliseconds=int(match.group(2)) * _UNIT_MS[match.group(3)])
    return now - offset if match.group(1) == "-" else now + offset


@dataclass(frozen=True)
class Interval:
    ms: int
    text: str


def calculate_interval(
    time_range: TimeRange, max_data_points: int, low_limit: str | None = "1m"
) -> Interval:
    """rangeutil.calculateInterval with the SQL data source's default min interval of 1m."""
    ms = round_interval((time_range.to_ms - time_range.from_ms) / max_data_points)
    if low_limit and interval_to_ms(low_limit) > ms:
        ms = interval_to_ms(low_limit)
    return Interval(ms, seconds_to_hms(ms / 1000))
