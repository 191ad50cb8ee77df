"""What every indicator is, hand-written or compiled from a spec: an aggregate expression over
the rows of one source (collector.metric_definitions.SOURCES), with its bound parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

HOURS = "extract(epoch FROM ({}))::float8 / 3600"


def hours(interval_sql: str) -> str:
    return HOURS.format(interval_sql)


@dataclass(frozen=True)
class Indicator:
    code: str
    name_en: str
    name_zh: str
    unit: str
    theme: str
    direction: str
    definition: str
    source: str
    expr: str
    empty: float | None = 0.0  # value for a node with no rows; None writes no point
    forecastable: bool = False
    # Bound parameters of `expr` (compiled specs name them `<code>__<n>`); values may be lists,
    # so they are left out of the hash (statements are cached by indicator).
    params: tuple[tuple[str, Any], ...] = field(default=(), hash=False)
    # The stored spec version (indicator_spec.version) of a user-defined indicator.
    version: int | None = None
    # The spec it was compiled from (JSON form), None for hand-written SQL.
    spec: dict[str, Any] | None = field(default=None, hash=False, compare=False)
    # The owning node of a user-defined indicator below the nation: points are written only
    # for that node's subtree (None: every node, as for built-ins and published ones).
    scope: str | None = None


# Lot states at t, shared by the hand-written definitions and the spec compiler.
HAZ = "hazard_class IS NOT NULL"
ON_HOLD_AT_T = (
    "held_at <= t AND (hold_lifted_at IS NULL OR hold_lifted_at < held_at OR hold_lifted_at > t)"
)
NOT_DECLARED_AT_T = "(declared_at IS NULL OR declared_at > t)"
INSPECTING_AT_T = (
    "inspection_started_at <= t AND (inspection_finished_at IS NULL OR inspection_finished_at > t)"
)
