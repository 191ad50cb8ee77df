"""Durations written the Prometheus way ("90s", "5m", "1h30m", "2d"); pure."""

from __future__ import annotations

import re
from datetime import timedelta
from functools import lru_cache
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
MAX_SECONDS = 366 * 86400.0
_UNITS = {
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
}


def parse_duration(value: Any) -> timedelta:
    """A timedelta from "1h30m", a number of seconds, or a timedelta; raise ValueError otherwise."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):
        raise ValueError("must be a duration such as 30s, 5m or 1h30m")
    elif isinstance(value, int | float):
        # Clamped first: float() of an int past 1e308 raises OverflowError, not ValueError.
        seconds = float(max(-1, min(value, MAX_SECONDS + 1)))
    elif isinstance(value, str):
        seconds = _parse_text(value.strip())
    else:
        raise ValueError("must be a duration such as 30s, 5m or 1h30m")
    if seconds < 0:
        raise ValueError("must not be negative")
    if seconds > MAX_SECONDS:
        raise ValueError("is too long (at most 366d)")
    return timedelta(seconds=seconds)


def _parse_text(text: str) -> float:
    if text in ("0", ""):
        return 0.0
    parts = _PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise ValueError(f"{text!r} is not a duration such as 30s, 5m or 1h30m")
    return sum(float(number) * _UNITS[unit] for number, unit in parts)


@lru_cache(maxsize=256)
def format_duration(value: timedelta) -> str:
    """The shortest "1h30m" form; "0s" for zero."""
    seconds = int(round(value.total_seconds()))
    if seconds == 0:
        return "0s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out)


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
]
