"""Silences (matchers, time window, author, comment) and mute time intervals; pure.

A silence mutes the alerts that match all its matchers between ``starts_at`` and ``ends_at``,
and only alerts raised inside the subtree of the node that owns it, so an office cannot mute
another office's alerts. Mute time intervals are Alertmanager's ``time_intervals``
(https://prometheus.io/docs/alerting/latest/configuration/#time_interval) evaluated in a time
zone (Asia/Shanghai by default); a channel attached to one sends nothing while it is active.
One difference: a time range whose end is before its start wraps midnight (22:00-06:00), where
Alertmanager needs two ranges.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator
from pydantic_core.core_schema import ValidationInfo

from alerter.delivery.matchers import Matcher, UnreadableRow, all_match, parse_matchers

DEFAULT_TZ = "Asia/Shanghai"
WEEKDAYS = [d.lower() for d in calendar.day_name]  # monday .. sunday, as datetime.weekday()
MONTHS = [m.lower() for m in calendar.month_name][1:]
# The fields whose items are names or numbers from 1 to len(names), and what a bad one is told.
_NAMED = {
    "weekdays": (WEEKDAYS, "use monday..sunday, ranges as monday:friday"),
    "months": (MONTHS, "use january..december or 1..12, ranges as june:august"),
}


@dataclass(frozen=True)
class Silence:
    silence_id: int
    node_id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str = ""
    comment: str = ""

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Silence:
        return cls(
            row["silence_id"],
            row["node_id"],
            tuple(parse_matchers(row["matchers"])),
            row["starts_at"],
            row["ends_at"],
            row["created_by"],
            row["comment"],
        )

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def mutes(self, labels: Mapping[str, str], node_path: Sequence[str], now: datetime) -> bool:
        """True when this silence mutes an alert with these labels raised at ``node_path``."""
        return self.active(now) and self.node_id in node_path and all_match(self.matchers, labels)


def silenced_by(
    silences: Iterable[Silence], labels: Mapping[str, str], node_path: Sequence[str], now: datetime
) -> list[int]:
    """Ids of the silences that mute the alert (Alertmanager's ``status.silencedBy``)."""
    return [s.silence_id for s in silences if s.mutes(labels, node_path, now)]


# --- mute time intervals -------------------------------------------------------------------


def _clock(value: str) -> time:
    hours, sep, minutes = value.partition(":")
    if not sep or not (hours.isdigit() and minutes.isdigit()) or len(minutes) != 2:
        raise ValueError(f"{value!r} is not HH:MM")
    h, m = int(hours), int(minutes)
    if (h, m) == (24, 0):
        return time.max  # "24:00" ends a range at midnight
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ValueError(f"{value!r} is not a time of day")
    return time(h, m)


def _number(token: str, names: Sequence[str]) -> int:
    token = token.strip().lower()
    if token in names:
        return names.index(token) + 1
    return int(token)  # ValueError names the bad token


def _ranges(items: Iterable[str], names: Sequence[str] = ()) -> list[tuple[int, int]]:
    """["monday:friday", "sunday"] -> [(1, 5), (7, 7)]; numbers may be negative (days)."""
    out = []
    for item in items:
        first, _, last = item.partition(":")
        low = _number(first, names)
        out.append((low, _number(last, names) if last else low))
    return out


class TimeRange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_time: str
    end_time: str

    @field_validator("start_time", "end_time")
    @classmethod
    def _valid(cls, value: str) -> str:
        _clock(value)
        return value

    def contains(self, moment: time) -> bool:
        start, end = _clock(self.start_time), _clock(self.end_time)
        if start <= end:
            return start <= moment < end
        return moment >= start or moment < end  # wraps midnight


class TimeInterval(BaseModel):
    """Every field that is given must match; an empty interval matches all the time."""

    model_config = ConfigDict(extra="forbid")

    times: list[TimeRange] = Field(default_factory=list)
    weekdays: list[str] = Field(default_factory=list)
    days_of_month: list[str] = Field(default_factory=list)
    months: list[str] = Field(default_factory=list)
    years: list[str] = Field(default_factory=list)

    @field_validator("weekdays", "months")
    @classmethod
    def _named(cls, value: list[str], info: ValidationInfo) -> list[str]:
        names, hint = _NAMED[info.field_name or ""]
        for low, high in _ranges(value, names):
            if not 1 <= low <= high <= len(names):
                raise ValueError(hint)
        return value

    @field_validator("days_of_month")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        for low, high in _ranges(value):
            if not (1 <= abs(low) <= 31 and 1 <= abs(high) <= 31):
                raise ValueError("days are 1..31, or -31..-1 counted from the month's end")
        return value

    @field_validator("years")
    @classmethod
    def _years(cls, value: list[str]) -> list[str]:
        _ranges(value)
        return value

    def contains(self, local: datetime) -> bool:
        if self.times and not any(r.contains(local.time()) for r in self.times):
            return False
        if self.weekdays and not _in(local.isoweekday(), _ranges(self.weekdays, WEEKDAYS)):
            return False
        if self.days_of_month and not _day_in(local, _ranges(self.days_of_month)):
            return False
        if self.months and not _in(local.month, _ranges(self.months, MONTHS)):
            return False
        return not self.years or _in(local.year, _ranges(self.years))


def _in(value: int, ranges: Iterable[tuple[int, int]]) -> bool:
    return any(low <= value <= high for low, high in ranges)


def _day_in(local: datetime, ranges: Iterable[tuple[int, int]]) -> bool:
    length = calendar.monthrange(local.year, local.month)[1]

    def absolute(day: int) -> int:  # -1 is the month's last day
        return day if day > 0 else length + day + 1

    return any(absolute(low) <= local.day <= absolute(high) for low, high in ranges)


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a path
        raise ValueError(f"unknown time zone {name!r}") from None
    return name


_INTERVAL_LIST = TypeAdapter(list[TimeInterval])


@dataclass(frozen=True)
class MuteInterval:
    mute_interval_id: int
    name: str
    intervals: tuple[TimeInterval, ...]
    time_zone: str = DEFAULT_TZ

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> MuteInterval:
        """Raises UnreadableRow naming the field when the stored row no longer parses."""
        try:
            intervals = tuple(_INTERVAL_LIST.validate_python(row["intervals"]))
        except ValidationError as exc:
            raise UnreadableRow("intervals", exc) from None
        try:
            ZoneInfo(row["time_zone"])
        except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
            raise UnreadableRow("time_zone", exc) from None
        return cls(row["mute_interval_id"], row["name"], intervals, row["time_zone"])

    def active(self, now: datetime) -> bool:
        local = now.astimezone(ZoneInfo(self.time_zone))
        return any(i.contains(local) for i in self.intervals)
