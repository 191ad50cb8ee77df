"""Compile an IndicatorSpec into an aggregate expression over its population's rows (or, for
`source: events`, over the cargo events of collector.indicators.event_source).

The result is a metric_definitions.Indicator like the hand-written ones, so it becomes one more
column of its source's GROUPING SETS statement (collector.metrics): one pass over the rows
serves every indicator of the source, at every level. Values from the spec are bound parameters
named `<code>__<n>`; only fixed fragments chosen by validated enums are written into the SQL.
"""

from __future__ import annotations

from typing import Any

from collector.indicators.base import (
    INSPECTING_AT_T,
    NOT_DECLARED_AT_T,
    ON_HOLD_AT_T,
    Indicator,
    hours,
)
from collector.indicators.describe import describe
from collector.indicators.spec import (
    EVENTS_SOURCE,
    POPULATION_STAMP,
    Count,
    Delay,
    Dwell,
    Filters,
    IndicatorSpec,
    Longer,
    PerHour,
    Share,
    SumTeu,
    expand_class,
)

COLUMN = {
    "arrived": "arrived_at",
    "declared": "declared_at",
    "inspection_started": "inspection_started_at",
    "inspection_finished": "inspection_finished_at",
    "released": "released_at",
    "removed": "removed_at",
    "held": "held_at",
    "hold_lifted": "hold_lifted_at",
    "deadline": "deadline_at",
    "warn": "warn_at",
    "now": "t",
}
STAGE = {
    "not_declared": NOT_DECLARED_AT_T,
    "declared": "declared_at <= t",
    "inspecting": INSPECTING_AT_T,
    "inspected": "inspection_finished_at <= t",
    "released": "released_at <= t",
    "not_released": "(released_at IS NULL OR released_at > t)",
}
DEADLINE = {
    "overdue": "deadline_at <= t",
    "near": "warn_at <= t AND deadline_at > t",
    "not_overdue": "deadline_at > t",
}
STAT = {
    "p50": "percentile_cont(0.5) WITHIN GROUP (ORDER BY {v})",
    "p90": "percentile_cont(0.9) WITHIN GROUP (ORDER BY {v})",
    "max": "max({v})",
    "min": "min({v})",
    "mean": "avg({v})",
}


class _Params:
    def __init__(self, code: str) -> None:
        self.code = code
        self.values: dict[str, Any] = {}

    def bind(self, value: Any, sql_type: str) -> str:
        name = f"{self.code}__{len(self.values)}"
        self.values[name] = value
        return f"CAST(:{name} AS {sql_type})"


def _hours_after(params: _Params, start: str, value: float) -> str:
    return f"{start} + {params.bind(value, 'float8')} * interval '1 hour'"


def _longer(params: _Params, rule: Longer) -> str:
    op = ">=" if rule.inclusive else ">"
    return f"{COLUMN[rule.to]} {op} {_hours_after(params, COLUMN[rule.from_], rule.hours)}"


def _conditions(params: _Params, f: Filters) -> list[str]:
    out: list[str] = []
    if f.hazardous is not None:
        out.append(f"hazard_class IS {'NOT ' if f.hazardous else ''}NULL")
    if f.hazard_class is not None:
        classes = sorted({c for prefix in f.hazard_class for c in expand_class(prefix)})
        out.append(f"hazard_class = ANY({params.bind(classes, 'text[]')})")
    if f.un_number is not None:
        out.append(f"un_number = ANY({params.bind(sorted(f.un_number), 'text[]')})")
    if f.has_un_number is not None:
        out.append(f"un_number IS {'NOT ' if f.has_un_number else ''}NULL")
    if f.packing_group is not None:
        out.append(f"packing_group = ANY({params.bind(sorted(f.packing_group), 'text[]')})")
    if f.site_type is not None:
        out.append(f"site_type = ANY({params.bind(sorted(f.site_type), 'text[]')})")
    if f.direction is not None:
        out.append(f"direction = {params.bind(f.direction, 'text')}")
    out += [STAGE[stage] for stage in f.stage or []]
    if f.on_hold is not None:
        out.append(ON_HOLD_AT_T if f.on_hold else f"NOT coalesce({ON_HOLD_AT_T}, false)")
    if f.deadline is not None:
        out.append(DEADLINE[f.deadline])
    if f.limit_hours_at_most is not None:
        out.append(f"limit_hours <= {params.bind(f.limit_hours_at_most, 'float8')}")
    out += [f"{COLUMN[stamp]} IS NOT NULL" for stamp in f.stamped or []]
    for stamp, within in sorted((f.within_hours or {}).items()):
        out.append(f"{COLUMN[stamp]} > t - {params.bind(within, 'float8')} * interval '1 hour'")
    if f.dwell_over_hours is not None:
        out.append(f"t > {_hours_after(params, 'arrived_at', f.dwell_over_hours)}")
    out += [_longer(params, rule) for rule in f.longer_than or []]
    if f.event_kind is not None:
        out.append(f"kind = ANY({params.bind(sorted(f.event_kind), 'text[]')})")
    if f.late_over_minutes is not None:
        late = params.bind(f.late_over_minutes, "float8")
        out.append(f"received_at > occurred_at + {late} * interval '1 minute'")
    return out


def _where(conditions: list[str]) -> str:
    return " AND ".join(f"({c})" for c in conditions) if conditions else "true"


def compile_spec(spec: IndicatorSpec) -> Indicator:
    """The spec as an Indicator of its population's source (with its bound parameters)."""
    params = _Params(spec.code)
    where = _conditions(params, spec.filters)
    events = spec.source == "events"
    window = ""
    if spec.window_hours is not None:
        window = params.bind(spec.window_hours, "float8")
        stamp = "occurred_at" if events else COLUMN[POPULATION_STAMP[spec.population]]
        where.append(f"{stamp} > t - {window} * interval '1 hour'")
    measure = spec.measure
    counted = isinstance(measure, Count | SumTeu | PerHour)
    zero = spec.empty == "zero" or (spec.empty is None and counted)
    if isinstance(measure, Count):
        expr = f"count(*) FILTER (WHERE {_where(where)})"
    elif isinstance(measure, PerHour):
        # Every node's rate is over the same window, so a parent's is the sum of its parts'.
        expr = f"count(*) FILTER (WHERE {_where(where)}) / {window}"
    elif isinstance(measure, Delay):
        late = "extract(epoch FROM (received_at - occurred_at))::float8 / 60"
        expr = f"{STAT[measure.stat].format(v=late)} FILTER (WHERE {_where(where)})"
    elif isinstance(measure, SumTeu):
        expr = f"coalesce(sum(teu) FILTER (WHERE {_where(where)}), 0)"
    elif isinstance(measure, Share):
        whole = _where(where)
        part = _where(_conditions(params, measure.part))
        expr = (
            f"100.0 * count(*) FILTER (WHERE ({whole}) AND ({part}))"
            f" / nullif(count(*) FILTER (WHERE {whole}), 0)"
        )
    else:
        start, end = (
            ("arrived", "now") if isinstance(measure, Dwell) else (measure.from_, measure.to)
        )
        where += [f"{COLUMN[s]} IS NOT NULL" for s in (start, end) if s != "now"]
        value = hours(f"{COLUMN[end]} - {COLUMN[start]}")
        expr = f"{STAT[measure.stat].format(v=value)} FILTER (WHERE {_where(where)})"
    if zero and not counted:
        expr = f"coalesce({expr}, 0)"
    return Indicator(
        spec.code,
        spec.name_en,
        spec.name_zh,
        spec.unit,
        spec.theme,
        spec.direction,
        describe(spec),
        EVENTS_SOURCE if events else spec.population,
        expr,
        empty=0.0 if zero else None,
        forecastable=spec.forecastable,
        params=tuple(params.values.items()),
        spec=spec.model_dump(mode="json", by_alias=True, exclude_none=True),
    )
