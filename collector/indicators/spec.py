"""What an indicator may say: rows of a source (lots, or cargo events), filters on their fields
and one measure.

A spec never carries SQL. Every value a user gives is checked here (enums, patterns, bounds)
and bound as a parameter by compile.py; invalid specs raise pydantic's ValidationError, whose
`loc` names the field.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from collector.events import HAZARD_CLASSES, EventKind

# The longest look-back any spec may ask for; a window beyond it has no bound worth computing
# every minute for every node.
MAX_WINDOW_HOURS = 90 * 24
# The lot populations of collector.metric_definitions.SOURCES and the look-back each one holds.
POPULATION_WINDOW_HOURS: dict[str, float | None] = {
    "present": None,
    "arrived": 24.0,
    "declared": 24.0,
    "inspected": 24.0,
    "released": 24.0,
    "removed": 24.0,
}
# The stage time that defines each windowed population (`window_hours` narrows on it).
POPULATION_STAMP = {
    "arrived": "arrived",
    "declared": "declared",
    "inspected": "inspection_finished",
    "released": "released",
    "removed": "removed",
}

# The cargo events a `source: events` spec reads: those that occurred in this many hours before t
# (collector.indicators.event_source); `window_hours` is required and narrows it.
EVENTS_SOURCE = "cargo_events"
EVENTS_WINDOW_HOURS = 24.0
# Filters that only lots have (stages, holds, deadlines, dwell), and those only events have.
LOT_FILTERS = frozenset(
    {
        "stage",
        "on_hold",
        "deadline",
        "limit_hours_at_most",
        "stamped",
        "within_hours",
        "dwell_over_hours",
        "longer_than",
    }
)
EVENT_FILTERS = frozenset({"event_kind", "late_over_minutes"})

Population = Literal["present", "arrived", "declared", "inspected", "released", "removed"]
# A lot carries a time for every event kind, plus its deadline and warning times.
Stamp = Literal[EventKind, "deadline", "warn"]
StageAt = Literal["not_declared", "declared", "inspecting", "inspected", "released", "not_released"]
SiteType = Literal["SEA", "RIV", "AIR", "LAND", "RAIL", "BZ"]
Theme = Literal[
    "business_anomaly",
    "process_timeliness",
    "hazardous_goods",
    "declaration_risk",
    "throughput_capacity",
    "data_quality",
]
Direction = Literal["higher_is_worse", "higher_is_better", "neutral"]
Stat = Literal["p50", "p90", "max", "min", "mean"]


def _bounded_hours(value: float) -> float:
    if value > MAX_WINDOW_HOURS:
        raise ValueError(
            f"{value:g} h is over 90 days ({MAX_WINDOW_HOURS} h): an unbounded look-back is refused"
        )
    return value


Hours = Annotated[float, Field(ge=0), AfterValidator(_bounded_hours)]
Minutes = Annotated[float, Field(ge=0, le=MAX_WINDOW_HOURS * 60)]

CODE = re.compile(r"^[a-z][a-z0-9_]{2,62}$")
UN_NUMBER = re.compile(r"^[0-9]{4}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Longer(_Strict):
    """`to` is at least (inclusive) or more than `hours` after `from`; both must be known."""

    from_: Stamp = Field(alias="from")
    to: Stamp | Literal["now"] = "now"
    hours: Hours
    inclusive: bool = False


class Filters(_Strict):
    """Every filter given must hold (AND); a list is any of its values (OR)."""

    hazardous: bool | None = None
    hazard_class: list[str] | None = Field(
        default=None,
        min_length=1,
        description="IMDG classes or divisions; '2' is every division of class 2",
    )
    un_number: list[str] | None = Field(default=None, min_length=1)
    has_un_number: bool | None = None
    packing_group: list[Literal["I", "II", "III"]] | None = Field(default=None, min_length=1)
    site_type: list[SiteType] | None = Field(default=None, min_length=1)
    direction: Literal["import", "export"] | None = None
    stage: list[StageAt] | None = Field(
        default=None, min_length=1, description="stages the lot is in at t"
    )
    on_hold: bool | None = None
    deadline: Literal["overdue", "near", "not_overdue"] | None = None
    limit_hours_at_most: Hours | None = None
    stamped: list[Stamp] | None = Field(
        default=None, min_length=1, description="stage times that are known"
    )
    within_hours: dict[Stamp, Hours] | None = Field(
        default=None, description="stage time in the given hours before t"
    )
    dwell_over_hours: Hours | None = Field(
        default=None, description="on site more than this many hours at t"
    )
    longer_than: list[Longer] | None = Field(default=None, min_length=1)
    event_kind: list[EventKind] | None = Field(
        default=None, min_length=1, description="kinds of cargo event (events only)"
    )
    late_over_minutes: Minutes | None = Field(
        default=None, description="received more than this many minutes after it occurred"
    )

    @field_validator("hazard_class")
    @classmethod
    def _known_classes(cls, value: list[str] | None) -> list[str] | None:
        for prefix in value or []:
            if not expand_class(prefix):
                raise ValueError(f"{prefix!r} is not an IMDG class or division")
        return value

    @field_validator("un_number")
    @classmethod
    def _un_numbers(cls, value: list[str] | None) -> list[str] | None:
        for number in value or []:
            if not UN_NUMBER.match(number):
                raise ValueError(f"{number!r} is not a four-digit UN number")
        return value


def expand_class(prefix: str) -> list[str]:
    """The IMDG classes and divisions a class or division prefix names ('2' -> 2.1, 2.2, 2.3)."""
    return sorted(c for c in HAZARD_CLASSES if c == prefix or c.startswith(prefix + "."))


class Count(_Strict):
    kind: Literal["count"] = "count"


class Share(_Strict):
    """Percent of the rows the spec's filters select that also pass `part`."""

    kind: Literal["share"] = "share"
    part: Filters


class Duration(_Strict):
    """A statistic of the hours from one stage time to another (or to t)."""

    kind: Literal["duration"] = "duration"
    from_: Stamp = Field(alias="from")
    to: Stamp | Literal["now"]
    stat: Stat


class Dwell(_Strict):
    """A statistic of the hours the lots have been on site at t (present lots only)."""

    kind: Literal["dwell"] = "dwell"
    stat: Stat


class SumTeu(_Strict):
    kind: Literal["sum_teu"] = "sum_teu"


class PerHour(_Strict):
    """Rows per hour of the window (events only): the count divided by `window_hours`."""

    kind: Literal["per_hour"] = "per_hour"


class Delay(_Strict):
    """A statistic of the minutes from an event's occurrence to its receipt (events only)."""

    kind: Literal["delay"] = "delay"
    stat: Stat


Measure = Annotated[
    Count | Share | Duration | Dwell | SumTeu | PerHour | Delay, Field(discriminator="kind")
]
# The measures each source can take.
LOT_MEASURES = frozenset({"count", "share", "duration", "dwell", "sum_teu"})
EVENT_MEASURES = frozenset({"count", "share", "per_hour", "delay"})


def _refuse(loc: tuple[str, ...], reason: str) -> ValidationError:
    """A ValidationError at `loc` (a model validator's own errors would name no field)."""
    error = PydanticCustomError("spec", "{reason}", {"reason": reason})
    return ValidationError.from_exception_data(
        "IndicatorSpec", [InitErrorDetails(type=error, loc=loc, input=None)]
    )


class IndicatorSpec(_Strict):
    code: str
    name_en: str = Field(min_length=1, max_length=120)
    name_zh: str = Field(min_length=1, max_length=60)
    unit: str = Field(min_length=1, max_length=20)
    theme: Theme
    direction: Direction
    source: Literal["lots", "events"] = "lots"
    population: Population = "present"
    window_hours: Hours | None = Field(
        default=None, description="narrow a windowed population to the hours before t"
    )
    filters: Filters = Filters()
    measure: Measure = Count()
    empty: Literal["zero", "none"] | None = Field(
        default=None, description="value for a node without rows (default: 0 for counts)"
    )
    forecastable: bool = False

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not CODE.match(value):
            raise ValueError("lower-case letters, digits and '_', 3 to 63, starting with a letter")
        return value

    @model_validator(mode="after")
    def _bounded(self) -> IndicatorSpec:
        if self.source == "events":
            return self._events()
        self._only(LOT_FILTERS | (set(Filters.model_fields) - EVENT_FILTERS), LOT_MEASURES)
        held = POPULATION_WINDOW_HOURS[self.population]
        if self.window_hours is not None:
            if held is None:
                raise ValueError(
                    "window_hours: the present population has no window (use filters.within_hours)"
                )
            if self.window_hours > held:
                raise ValueError(
                    f"window_hours: the {self.population} population holds only the {held:g} h "
                    f"before t; {self.window_hours:g} h would read lots it does not hold"
                )
        if isinstance(self.measure, Dwell) and self.population != "present":
            raise ValueError("measure: dwell is the time on site of present lots only")
        if self.filters.dwell_over_hours is not None and self.population != "present":
            raise ValueError("filters.dwell_over_hours: only present lots have a dwell at t")
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # An events spec has no population: its stored form must validate again.
        data: dict[str, Any] = handler(self)
        if self.source == "events":
            data.pop("population", None)
        return data

    def _only(self, filters: frozenset[str] | set[str], measures: frozenset[str]) -> None:
        """Refuse a filter or measure the spec's source does not have, naming it."""
        if self.measure.kind not in measures:
            raise _refuse(
                ("measure", "kind"),
                f"{self.measure.kind} is not a measure of {self.source}"
                f" (one of {', '.join(sorted(measures))})",
            )
        other = "events" if self.source == "lots" else "lots"
        parts: list[tuple[tuple[str, ...], Filters]] = [(("filters",), self.filters)]
        if isinstance(self.measure, Share):
            parts.append((("measure", "part"), self.measure.part))
        for where, given in parts:
            for name in sorted(given.model_fields_set - filters)[:1]:
                raise _refuse((*where, name), f"a filter of {other}; {self.source} have no {name}")

    def _events(self) -> IndicatorSpec:
        """Events: a window of at most EVENTS_WINDOW_HOURS is required, and no lot population."""
        self._only(set(Filters.model_fields) - LOT_FILTERS, EVENT_MEASURES)
        if "population" in self.model_fields_set:
            raise _refuse(("population",), "events have no population (use window_hours)")
        if self.window_hours is None or self.window_hours <= 0:
            raise _refuse(
                ("window_hours",),
                "required for events, more than 0: an unbounded look-back over cargo events"
                " is refused",
            )
        if self.window_hours > EVENTS_WINDOW_HOURS:
            raise _refuse(
                ("window_hours",),
                f"events hold only the {EVENTS_WINDOW_HOURS:g} h before t;"
                f" {self.window_hours:g} h would read events they do not hold",
            )
        return self
