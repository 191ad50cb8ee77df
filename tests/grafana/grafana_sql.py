"""Grafana's expansion of PostgreSQL panel SQL, reimplemented for tests and the benchmark.

Follows ../shared/reference/timescaledb-and-grafana.md section 3, which cites the Grafana
sources. One target is expanded in the order Grafana uses:

1. frontend: the interval (`calculate_interval`: range / max data points, rounded, never below
   the panel's or data source's min interval);
2. frontend: `templateSrv.replace` (`replace_variables`): dashboard variables with their formats,
   All and custom all values, `$__interval`, `$__interval_ms` and the global variables;
3. backend `sqleng.Interpolate` (`backend_interpolate`): plain replacements of `$__interval_ms`,
   `$__interval`, `$__unixEpochFrom()`, `$__unixEpochTo()`;
4. backend macro engine (`expand_macros`): `$__name(args)`, an unknown name is an error.

`expand` runs all four and returns the SQL the database receives plus the fill mode, if any.
Stage 1 lives in grafana_sql_time, stages 3 and 4 in grafana_macros; this module re-exports
their names, so callers import from here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.grafana.grafana_macros import (  # noqa: F401  (re-exported for callers)
    Fill,
    MacroError,
    backend_interpolate,
    expand_macros,
    go_v,
    parse_interval,
    rfc3339nano,
)
from tests.grafana.grafana_sql_time import (  # noqa: F401
    Interval,
    TimeRange,
    calculate_interval,
    round_interval,
    seconds_to_hms,
)

# --- 2. template variables ---------------------------------------------------------------------

ALL = "$__all"
_VARIABLE = re.compile(
    r"\$(\w+)|\[\[([\s\S]+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}", re.ASCII
)


@dataclass
class Variable:
    """A dashboard variable with its current value; `value` is a list when multi-valued."""

    name: str
    value: str | list[str]
    text: str | list[str] | None = None
    options: list[str] = field(default_factory=list)
    multi: bool = False
    include_all: bool = False
    all_value: str | None = None

    @property
    def is_all(self) -> bool:
        value = self.value
        return value == ALL or (isinstance(value, list) and ALL in value)


def _sqlstring(values: Sequence[str]) -> str:
    return ",".join("'" + v.replace("'", "''") + "'" for v in values)


def _regex(values: Sequence[str]) -> str:
    escaped = [re.sub(r"[\\^$*+?.()|{}\[\]/]", lambda m: "\\" + m.group(0), v) for v in values]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def _glob(values: Sequence[str]) -> str:
    return "{" + ",".join(values) + "}" if len(values) > 1 else ",".join(values)


_FORMATS: dict[str, Any] = {
    "csv": lambda v: ",".join(v),
    "raw": lambda v: ",".join(v),
    "sqlstring": _sqlstring,
    "singlequote": lambda v: ",".join("'" + x.replace("'", "\\'") + "'" for x in v),
    "doublequote": lambda v: ",".join('"' + x.replace('"', '\\"') + '"' for x in v),
    "pipe": lambda v: "|".join(v),
    "regex": _regex,
    "glob": _glob,
}


def format_value(value: str | list[str], fmt: str | None, text: str | list[str] | None) -> str:
    """formatRegistry: explicit formats; without one, the Postgres data source's
    interpolateVariable (since PR #114058: a string is escaped, never quoted; a list is quoted)."""
    if fmt is None:
        if isinstance(value, list):
            return _sqlstring(value)
        return value.replace("'", "''")
    if fmt == "json":
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if fmt == "text":
        shown = text if text is not None else value
        return " + ".join(shown) if isinstance(shown, list) else shown
    values = value if isinstance(value, list) else [value]
    # An unknown format falls back to glob, as templateSrv does.
    return str(_FORMATS.get(fmt, _glob)(values))


def replace_variables(
    sql: str, variables: Mapping[str, Variable], scoped: Mapping[str, str] | None = None
) -> str:
    """templateSrv.replace for SQL targets. Unknown names are left as they are, which is how
    `$__timeFilter(...)` reaches the backend."""
    scoped = scoped or {}

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(4)
        fmt = match.group(3) or match.group(6)
        if name in scoped:
            return _format_scoped(scoped[name], fmt)
        variable = variables.get(name)
        if variable is None:
            return match.group(0)
        value: str | list[str] = variable.value
        text = variable.text
        if variable.is_all:
            text = "All"
            if variable.all_value is not None:
                # A custom all value is used as written: scenes' CustomAllValue skips
                # formatting except for the text format.
                return "All" if fmt == "text" else variable.all_value
            value = list(variable.options)
        return format_value(value, fmt, text)

    return _VARIABLE.sub(substitute, sql)


def _format_scoped(value: str, fmt: str | None) -> str:
    if fmt and fmt.startswith("date"):
        moment = datetime.fromtimestamp(int(value) / 1000, tz=UTC)
        kind = fmt.split(":", 1)[1] if ":" in fmt else "iso"
        if kind == "seconds":
            return str(int(value) // 1000)
        if kind == "ms":
            return value
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(value) % 1000:03d}Z"
    return value


def global_variables(time_range: TimeRange, interval: Interval, dashboard: str) -> dict[str, str]:
    range_ms = time_range.to_ms - time_range.from_ms
    return {
        "__interval": interval.text,
        "__interval_ms": str(interval.ms),
        "__from": str(time_range.from_ms),
        "__to": str(time_range.to_ms),
        "__range_ms": str(range_ms),
        "__range_s": str(range_ms // 1000),
        "__range": seconds_to_hms(range_ms / 1000),
        "__dashboard": dashboard,
        "__timezone": "browser",
    }


@dataclass(frozen=True)
class Expanded:
    sql: str
    interval: Interval
    fill: Fill | None


def expand(
    sql: str,
    time_range: TimeRange,
    variables: Mapping[str, Variable],
    max_data_points: int = 1000,
    min_interval: str | None = "1m",
    timescaledb: bool = True,
    dashboard: str = "",
) -> Expanded:
    """All four stages for one target."""
    interval = calculate_interval(time_range, max_data_points, min_interval)
    scoped = global_variables(time_range, interval, dashboard)
    frontend = replace_variables(sql, variables, scoped)
    backend = backend_interpolate(frontend, time_range, interval)
    final, fill = expand_macros(backend, time_range, timescaledb)
    return Expanded(final, interval, fill)
