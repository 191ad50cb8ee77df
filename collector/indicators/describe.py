"""The definition text of a spec, generated from it so the words cannot drift from the caliber."""

from __future__ import annotations

from collections.abc import Sequence

from collector.indicators.spec import (
    Count,
    Delay,
    Duration,
    Dwell,
    Filters,
    IndicatorSpec,
    PerHour,
    Share,
    SumTeu,
)

POPULATION = {
    "present": "lots at the site at t",
    "arrived": "lots that arrived in the {w} h before t",
    "declared": "lots declared in the {w} h before t",
    "inspected": "lots whose inspection finished in the {w} h before t",
    "released": "lots released in the {w} h before t",
    "removed": "lots removed in the {w} h before t",
    "events": "cargo events that occurred in the {w} h before t",
}
STAGE = {
    "not_declared": "not declared by t",
    "declared": "declared by t",
    "inspecting": "in inspection at t",
    "inspected": "inspected by t",
    "released": "released by t",
    "not_released": "not released by t",
}
DEADLINE = {
    "overdue": "past their storage deadline",
    "near": "past their warning point but not overdue",
    "not_overdue": "not past their storage deadline",
}
STAT = {
    "p50": "median",
    "p90": "90th percentile",
    "max": "maximum",
    "min": "minimum",
    "mean": "mean",
}


def _stamp(name: str) -> str:
    return "t" if name == "now" else name.replace("_", " ")


def _any_of(prefix: str, values: Sequence[str] | None) -> list[str]:
    """``prefix`` and the values joined by "or", or nothing when the filter is not set."""
    return [f"{prefix} {' or '.join(values)}"] if values else []


def _yes_no(value: bool | None, yes: str, no: str) -> list[str]:
    """The phrase for a yes/no filter, or nothing when it is not set."""
    return [] if value is None else [yes if value else no]


def _filters(f: Filters) -> list[str]:
    out = _yes_no(f.hazardous, "hazardous", "not hazardous")
    out += _any_of("of IMDG class", f.hazard_class)
    out += _any_of("with UN number", f.un_number)
    out += _yes_no(f.has_un_number, "with a UN number", "without a UN number")
    out += _any_of("of packing group", f.packing_group)
    out += _any_of("at sites of type", f.site_type)
    if f.direction:
        out.append(f.direction)
    out += [STAGE[s] for s in f.stage or []]
    out += _yes_no(f.on_hold, "under customs hold at t", "not under customs hold at t")
    if f.deadline:
        out.append(DEADLINE[f.deadline])
    if f.limit_hours_at_most is not None:
        out.append(f"with a storage limit of at most {f.limit_hours_at_most:g} h")
    if f.stamped:
        out.append("with a known " + " and ".join(_stamp(s) for s in f.stamped) + " time")
    for stamp, within in sorted((f.within_hours or {}).items()):
        out.append(f"{_stamp(stamp)} in the {within:g} h before t")
    if f.dwell_over_hours is not None:
        out.append(f"on site more than {f.dwell_over_hours:g} h")
    for rule in f.longer_than or []:
        op = "at least" if rule.inclusive else "more than"
        out.append(f"{_stamp(rule.to)} {op} {rule.hours:g} h after {_stamp(rule.from_)}")
    out += _any_of("of kind", f.event_kind)
    if f.late_over_minutes is not None:
        out.append(f"received more than {f.late_over_minutes:g} min after they occurred")
    return out


def describe(spec: IndicatorSpec) -> str:
    window = spec.window_hours if spec.window_hours is not None else 24
    population = "events" if spec.source == "events" else spec.population
    rows = POPULATION[population].format(w=f"{window:g}")
    conditions = _filters(spec.filters)
    if conditions:
        rows += " that are " + ", ".join(conditions)
    m = spec.measure
    if isinstance(m, Count):
        text = f"Number of {rows}."
    elif isinstance(m, PerHour):
        text = f"Number of {rows}, divided by {window:g} (per hour)."
    elif isinstance(m, Delay):
        text = f"{STAT[m.stat].capitalize()} of minutes from occurrence to receipt of {rows}."
    elif isinstance(m, SumTeu):
        text = f"Sum of TEU of {rows}."
    elif isinstance(m, Share):
        text = f"Share of {rows} that are " + ", ".join(_filters(m.part) or ["any"]) + "."
    elif isinstance(m, Dwell):
        text = f"{STAT[m.stat].capitalize()} of hours on site of {rows}."
    else:
        assert isinstance(m, Duration)
        text = (
            f"{STAT[m.stat].capitalize()} of hours from {_stamp(m.from_)} to {_stamp(m.to)}"
            f" over {rows}."
        )
    return text
