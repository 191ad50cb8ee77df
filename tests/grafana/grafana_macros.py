"""The backend half of Grafana's PostgreSQL query expansion (reference section 3.1 steps 3-4):
`sqleng.Interpolate`'s plain replacements, then the macro engine (macros.go). grafana_sql
runs the frontend half and calls these."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tests.grafana.grafana_sql_time import YEAR_MS, Interval, TimeRange

# --- 3. backend global replacements ------------------------------------------------------------


def format_go_interval(ms: int) -> str:
    """gtime.FormatInterval (backend): the largest whole unit, at least 1ms."""
    for size, unit in ((YEAR_MS, "y"), (86400000, "d"), (3600000, "h"), (60000, "m"),
                       (1000, "s"), (1, "ms")):  # fmt: skip
        if ms >= size:
            return f"{ms // size}{unit}"
    return "1ms"


def backend_interpolate(sql: str, time_range: TimeRange, interval: Interval) -> str:
    sql = sql.replace("$__interval_ms", str(interval.ms))
    sql = sql.replace("$__interval", format_go_interval(interval.ms))
    sql = sql.replace("$__unixEpochFrom()", str(time_range.from_ms // 1000))
    return sql.replace("$__unixEpochTo()", str(time_range.to_ms // 1000))


# --- 4. the macro engine -----------------------------------------------------------------------

_MACRO = re.compile(r"\$([_a-zA-Z0-9]+)\(([^\)]*)\)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60,
             "h": 3600}  # fmt: skip


class MacroError(ValueError):
    """The backend refused the query ("interpolation failed: ...")."""


@dataclass(frozen=True)
class Fill:
    mode: str  # null | previous | value
    interval_s: float
    value: float | None = None


def rfc3339nano(ms: int) -> str:
    moment = datetime.fromtimestamp(ms // 1000, tz=UTC)
    frac = ms % 1000
    return (
        moment.strftime("%Y-%m-%dT%H:%M:%S")
        + ("." + f"{frac:03d}".rstrip("0") if frac else "")
        + "Z"
    )


def go_v(x: float) -> str:
    """Go's %v for a float64: shortest digits, exponent form below 1e-4 or from 1e+06."""
    if x == 0:
        return "0"
    sign, digits, exp10 = Decimal(repr(float(x))).normalize().as_tuple()
    assert isinstance(exp10, int)
    ds = "".join(map(str, digits))
    exp = len(ds) + exp10 - 1
    s = "-" if sign else ""
    if exp < -4 or exp >= 6:
        mantissa = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        return f"{s}{mantissa}e{'+' if exp >= 0 else '-'}{abs(exp):02d}"
    return s + format(abs(Decimal(repr(float(x))).normalize()), "f")


def go_parse_duration(text: str) -> float:
    """time.ParseDuration, in seconds."""
    if text in ("0", "+0", "-0"):
        return 0.0
    match = re.fullmatch(r"([-+]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)", text)
    if not match:
        raise ValueError(text)
    parts = re.findall(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)", match.group(2))
    total = sum(float(number) * _GO_UNITS[unit] for number, unit in parts)
    return -total if match.group(1) == "-" else total


def parse_interval(text: str, now: datetime | None = None) -> float:
    """gtime.ParseInterval in seconds: N[dwMy] is calendar time back from now (UTC)."""
    match = re.fullmatch(r"(\d+)([dwMy])", text)
    if not match:
        return go_parse_duration(text)
    now = now or datetime.now(UTC)
    count, unit = int(match.group(1)), match.group(2)
    if unit in "dw":
        return count * (7 if unit == "w" else 1) * 86400.0
    months = count * (12 if unit == "y" else 1)
    year, month = divmod(now.month - 1 - months, 12)
    try:
        earlier = now.replace(year=now.year + year, month=month + 1)
    except ValueError:  # Go's AddDate normalises 31 February to 3 March
        earlier = now.replace(year=now.year + year, month=month + 2, day=1) + timedelta(
            days=now.day - 1 - 28
        )
    return (now - earlier).total_seconds()


@dataclass
class _MacroContext:
    time_range: TimeRange
    timescaledb: bool
    fill: Fill | None = None


def _time_group(ctx: _MacroContext, name: str, args: list[str]) -> str:
    if len(args) < 2:
        raise MacroError(f"macro {name} needs time column and interval and optional fill value")
    try:
        seconds = parse_interval(args[1].strip("'"))
    except ValueError as exc:
        raise MacroError(f"error parsing interval {args[1]}") from exc
    if len(args) == 3:
        ctx.fill = _fill(args[2], seconds)
    if name == "__timeGroup" and ctx.timescaledb:
        return f"time_bucket('{seconds:.3f}s',{args[0]})"
    column = f"extract(epoch from {args[0]})" if name == "__timeGroup" else f"({args[0]})"
    return f"floor({column}/{go_v(seconds)})*{go_v(seconds)}"


def _fill(arg: str, interval_s: float) -> Fill:
    if arg == "NULL":
        return Fill("null", interval_s)
    if arg == "previous":
        return Fill("previous", interval_s)
    try:
        return Fill("value", interval_s, float(arg))
    except ValueError as exc:
        raise MacroError(f"error parsing fill value {arg}") from exc


def _evaluate(ctx: _MacroContext, name: str, args: list[str]) -> str:
    start, end = ctx.time_range.from_ms, ctx.time_range.to_ms
    if name == "__time":
        return f'{args[0]} AS "time"'
    if name == "__timeEpoch":
        return f'extract(epoch from {args[0]}) as "time"'
    if name == "__timeFilter":
        return f"{args[0]} BETWEEN '{rfc3339nano(start)}' AND '{rfc3339nano(end)}'"
    if name == "__timeFrom":
        return f"'{rfc3339nano(start)}'"
    if name == "__timeTo":
        return f"'{rfc3339nano(end)}'"
    if name in ("__timeGroup", "__unixEpochGroup"):
        return _time_group(ctx, name, args)
    if name in ("__timeGroupAlias", "__unixEpochGroupAlias"):
        return _time_group(ctx, name.removesuffix("Alias"), args) + ' AS "time"'
    if name == "__unixEpochFilter":
        return f"{args[0]} >= {start // 1000} AND {args[0]} <= {end // 1000}"
    if name == "__unixEpochNanoFilter":
        return f"{args[0]} >= {start * 1000000} AND {args[0]} <= {end * 1000000}"
    if name == "__unixEpochNanoFrom":
        return str(start * 1000000)
    if name == "__unixEpochNanoTo":
        return str(end * 1000000)
    raise MacroError(f'unknown macro "{name}"')


def expand_macros(
    sql: str, time_range: TimeRange, timescaledb: bool = True
) -> tuple[str, Fill | None]:
    """postgresMacroEngine.Interpolate; returns the SQL and the fill mode a macro set."""
    ctx = _MacroContext(time_range, timescaledb)

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        # Pre-5.3 compatibility: `$__timeGroup(...)` directly followed by ',' (looked up at the
        # first occurrence of the same text in the original SQL) gets the alias.
        if name == "__timeGroup":
            index = sql.find(match.group(0)) + len(match.group(0))
            if index < len(sql) and sql[index] == ",":
                name = "__timeGroupAlias"
        args = [arg.strip(" ") for arg in match.group(2).split(",")]
        return _evaluate(ctx, name, args)

    try:
        return _MACRO.sub(substitute, sql), ctx.fill
    except MacroError as exc:
        raise MacroError(f"interpolation failed: {exc}") from exc
