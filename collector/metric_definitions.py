"""The one definition of every built-in indicator (the "data caliber"); writes nothing.

Each indicator is an aggregate expression over the rows of one *source* (the lots present at a
time t, the lots released in the 24 h before t, ...). `metrics.py` evaluates every source once
per batch of times, grouped by GROUPING SETS over site, office, customs and the nation, so a
national figure is computed from the same rows with the same expression as a site's: p90 dwell is
the p90 over all the nation's lots, never an average of site p90s.

In expressions, `t` is the evaluation time and the source's columns are in scope.

The catalogue is collector/data/builtin_indicators.yaml, in order. Lot-based built-ins are specs
in the format of a user's `quaywatch indicators apply` file, compiled by
collector/indicators/compile.py like a user's; the rest are hand-written SQL (`source` and
`expr`), each group saying why the spec cannot express it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from importlib import resources
from typing import Any

import yaml

from collector.indicators.base import HOURS, Indicator, hours
from collector.indicators.compile import compile_spec
from collector.indicators.spec import IndicatorSpec

__all__ = ["HOURS", "INDICATORS", "SOURCES", "Indicator", "Source", "hours"]

LOT_COLUMNS = (
    "site_id, hazard_class, un_number, packing_group, direction, teu, arrived_at, declared_at,"
    " inspection_started_at, inspection_finished_at, released_at, removed_at, held_at, hold_lifted_at,"
    " limit_hours, deadline_at, warn_at"
)


@dataclass(frozen=True)
class Source:
    """Rows an indicator aggregates over: a candidate filter (index-friendly, over the whole
    batch of times [tmin, tmax]) and the membership test for one time t."""

    name: str
    table: str
    candidates: str
    member: str
    live_only: bool = False
    # Only these columns are carried into the aggregation: lot rows are wide.
    columns: str = LOT_COLUMNS


def _recent(name: str, table: str, column: str, span: str, columns: str = LOT_COLUMNS) -> Source:
    """The rows of `table` whose `column` lies in the `span` (an SQL interval) up to t."""
    return Source(
        name,
        table,
        f"{column} > CAST(:tmin AS timestamptz) - interval '{span}' AND {column} <= :tmax",
        f"{column} > t - interval '{span}' AND {column} <= t",
        columns=columns,
    )


PRESENT = "arrived_at <= t AND coalesce(removed_at, 'infinity') > t"
SOURCES: dict[str, Source] = {
    "present": Source(
        "present",
        "lot",
        "arrived_at <= :tmax AND coalesce(removed_at, 'infinity') > :tmin",
        PRESENT,
    ),
    "released": _recent("released", "lot", "released_at", "24 hours"),
    "inspected": _recent("inspected", "lot", "inspection_finished_at", "24 hours"),
    "removed": _recent("removed", "lot", "removed_at", "24 hours"),
    "arrived": _recent("arrived", "lot", "arrived_at", "24 hours"),
    "declared": _recent("declared", "lot", "declared_at", "24 hours"),
    "events": _recent(
        "events", "cargo_event", "occurred_at", "2 hours", "site_id, occurred_at, received_at"
    ),
    "feeds": Source(
        "feeds",
        "station_feed",
        "enabled",
        "true",
        live_only=True,
        columns="site_id, consecutive_failures",
    ),
    # Customs declarations with their risk mark (collector/risk/): risk_score is set when any
    # feature or rule flagged the declaration, risk_rules lists the rules that hit it.
    "declarations": _recent(
        "declarations",
        "declaration",
        "declared_at",
        "24 hours",
        "site_id, declared_at, risk_score, risk_rules",
    ),
    "risk_reviews": _recent(
        "risk_reviews", "risk_review", "reviewed_at", "30 days", "site_id, reviewed_at, outcome"
    ),
}


def _builtin(entry: dict[str, Any]) -> Indicator:
    """One catalogue entry: hand-written SQL when it states its `expr`, else a spec.

    A spec is compiled like a user's; the indicator keeps the reviewed `definition` of the
    catalogue (tests/collector/indicators/test_builtin_specs.py checks the compiled SQL gives
    exactly the values of the hand-written SQL it replaced)."""
    if "expr" in entry:
        return Indicator(**entry)
    spec = dict(entry)
    definition = spec.pop("definition")
    return replace(compile_spec(IndicatorSpec.model_validate(spec)), definition=definition)


def _catalogue() -> tuple[Indicator, ...]:
    path = resources.files("collector").joinpath("data/builtin_indicators.yaml")
    entries: list[dict[str, Any]] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return tuple(_builtin(entry) for entry in entries)


INDICATORS: tuple[Indicator, ...] = _catalogue()

BY_CODE = {indicator.code: indicator for indicator in INDICATORS}
