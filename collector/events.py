"""Cargo events as stations send them: one pydantic model shared by push, pull and file import.

`parse_items` validates each item on its own, so one bad item never costs the valid ones: it
returns the valid events (each with its item's index) and a list of FieldErrors (item index,
field, reason). `validate_item` and `parse_each` do the same for any kind of item
(collector.risk.declarations).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any, Literal, Protocol, TypeVar, cast, get_args
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

EventKind = Literal[
    "arrived",
    "declared",
    "inspection_started",
    "inspection_finished",
    "released",
    "removed",
    "held",
    "hold_lifted",
]
EVENT_KINDS: tuple[str, ...] = get_args(EventKind)
HAZARD_CLASSES = frozenset(
    {
        "1.1",
        "1.2",
        "1.3",
        "1.4",
        "1.5",
        "1.6",
        "2.1",
        "2.2",
        "2.3",
        "3",
        "4.1",
        "4.2",
        "4.3",
        "5.1",
        "5.2",
        "6.1",
        "6.2",
        "7",
        "8",
        "9",
    }
)
_UN_NUMBER = re.compile(r"^(?:UN)?\s*(\d{4})$", re.IGNORECASE)
# C0 and C1 control characters: an id holding one cannot be typed, logged or put in a URL.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

# Column order of cargo_event rows as the store writes them.
EVENT_COLUMNS = (
    "event_id",
    "occurred_at",
    "received_at",
    "site_id",
    "lot_id",
    "kind",
    "direction",
    "hazard_class",
    "un_number",
    "packing_group",
    "teu",
    "source",
)
EventRow = tuple[
    str,
    datetime,
    datetime,
    str,
    str,
    str,
    str | None,
    str | None,
    str | None,
    str | None,
    float | None,
    str,
]


def intake_row(columns: Sequence[str]) -> Callable[[object, str, datetime], tuple[Any, ...]]:
    """A row builder for a COPY column list: the model's attributes in ``columns`` order, with
    the two columns the intake adds, ``received_at`` (third) and ``source`` (last), from the
    call. Attribute getters made once keep it as fast as a hand-written tuple (~0.5 us), so
    the column order is written once, in ``columns``, where the store reads it."""
    if columns[2] != "received_at" or columns[-1] != "source":
        raise ValueError(f"{columns}: received_at must be third and source last")
    head, tail = attrgetter(*columns[:2]), attrgetter(*columns[3:-1])

    def row(model: object, source: str, received_at: datetime) -> tuple[Any, ...]:
        return (*head(model), received_at, *tail(model), source)

    return row


_EVENT_ROW = intake_row(EVENT_COLUMNS)


class CargoEvent(BaseModel):
    """One thing that happened to a cargo lot at a site."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, frozen=True)

    event_id: str = Field(min_length=1, max_length=128)
    kind: EventKind
    occurred_at: datetime
    site_id: str = Field(min_length=1, max_length=64)
    lot_id: str = Field(min_length=1, max_length=128)
    direction: Literal["import", "export"] | None = None
    hazard_class: str | None = None
    un_number: str | None = None
    packing_group: Literal["I", "II", "III"] | None = None
    teu: float | None = Field(default=None, gt=0, le=4)

    @field_validator("event_id", "site_id", "lot_id", mode="after")
    @classmethod
    def _printable_id(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        if _CONTROL.search(value):
            raise ValueError("must not contain control characters (tabs, line breaks, ...)")
        return value

    @field_validator("teu", mode="after")
    @classmethod
    def _as_stored(cls, value: float | None) -> float | None:
        # TEU is stored as a 4-byte real: round here, so two re-sends that differ only beyond
        # that precision are the same event in one batch as they are across batches.
        return None if value is None else struct.unpack("f", struct.pack("f", value))[0]

    @field_validator("hazard_class", mode="before")
    @classmethod
    def _known_class(cls, value: Any) -> Any:
        if value is None or value == "":
            return None
        text = str(value).strip()
        if text not in HAZARD_CLASSES:
            raise ValueError(
                "not an IMDG class or division (1.1-1.6, 2.1-2.3, 3, 4.1-4.3, "
                "5.1, 5.2, 6.1, 6.2, 7, 8, 9)"
            )
        return text

    @field_validator("un_number", mode="before")
    @classmethod
    def _un_number(cls, value: Any) -> Any:
        if value is None or value == "":
            return None
        match = _UN_NUMBER.match(str(value).strip())
        if not match:
            raise ValueError("a UN number is four digits, e.g. UN1203")
        return "UN" + match.group(1)

    def as_row(self, source: str, received_at: datetime) -> EventRow:
        """The row in EVENT_COLUMNS order (see intake_row)."""
        return cast(EventRow, _EVENT_ROW(self, source, received_at))


@dataclass(frozen=True)
class FieldError:
    """Why one item was rejected: its position (index or line), the field and the reason."""

    index: int
    field: str
    reason: str
    event_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "field": self.field, "reason": self.reason}
        if self.event_id:
            out["event_id"] = self.event_id
        return out


# The oldest instant a station may report. Older stamps are clock faults (a device reset to
# 1970, a year typed as 0202), and bounding the range keeps every accepted instant inside what
# Python and PostgreSQL can both represent in any zone.
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class TimePolicy:
    """How timestamps are judged: future skew allowed, and the zone for naive timestamps."""

    max_skew: timedelta = timedelta(minutes=5)
    naive_zone: str | None = None


def to_utc(moment: datetime, field: str, policy: TimePolicy, now: datetime) -> datetime:
    """The UTC instant of a stated timestamp, within [EARLIEST_TIME, now + max_skew]; raise
    ValueError('field: reason') otherwise (never an OverflowError at the edges of the range)."""
    if moment.tzinfo is None:
        if policy.naive_zone is None:
            raise ValueError(
                f"{field}: has no time zone offset; send e.g. 2026-03-01T08:00:00+08:00"
            )
        moment = moment.replace(tzinfo=ZoneInfo(policy.naive_zone))
    try:
        instant = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        instant = None
    if instant is None or instant < EARLIEST_TIME:
        raise ValueError(f"{field}: must be between 2000-01-01T00:00:00Z and now")
    if instant - now > policy.max_skew:
        ahead = int((instant - now).total_seconds())
        raise ValueError(f"{field}: is {ahead} s in the future (clock skew?)")
    return instant


_REASONS = {
    "missing": "is required",
    "literal_error": "must be one of the allowed values",
    "datetime_from_date_parsing": "is not an ISO 8601 timestamp",
    "datetime_parsing": "is not an ISO 8601 timestamp",
    "datetime_type": "is not an ISO 8601 timestamp",
    "string_too_short": "must not be empty",
    "string_too_long": "is too long",
    "string_type": "must be a string",
    "greater_than": "must be greater than zero",
    "less_than_equal": "is too large",
    "float_parsing": "must be a number",
}


def _first_error(exc: ValidationError) -> tuple[str, str]:
    error = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in error["loc"]) or "item"
    reason = _REASONS.get(error["type"], error["msg"])
    if error["type"] == "literal_error" and "expected" in error.get("ctx", {}):
        reason = f"must be one of {error['ctx']['expected']}"
    if error["type"] == "value_error":
        reason = str(error["ctx"]["error"]) if "ctx" in error else error["msg"]
    return field, reason


ModelT = TypeVar("ModelT", bound=BaseModel)


def validate_item(model: type[ModelT], item: Any) -> ModelT:
    """One item as `model`; raise ValueError('field: reason') for the first problem found.

    Shared by every kind of item (cargo events here, collector.risk.declarations)."""
    if not isinstance(item, Mapping):
        raise ValueError("item: must be a JSON object")
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        field, reason = _first_error(exc)
        raise ValueError(f"{field}: {reason}") from None


def parse_event(item: Any, policy: TimePolicy, now: datetime) -> CargoEvent:
    """Validate one item; raise ValueError('field: reason') for the first problem found."""
    event = validate_item(CargoEvent, item)
    occurred = to_utc(event.occurred_at, "occurred_at", policy, now)
    return event.model_copy(update={"occurred_at": occurred})


class Sited(Protocol):
    @property
    def site_id(self) -> str: ...


SitedT = TypeVar("SitedT", bound=Sited)


def parse_each(
    items: Iterable[Any],
    parse: Callable[[Any], SitedT],
    id_field: str,
    known_sites: set[str] | None,
    first_index: int = 0,
    skip: set[int] | frozenset[int] = frozenset(),
    valid_id: Callable[[SitedT], str] | None = None,
) -> tuple[list[tuple[int, SitedT]], list[FieldError]]:
    """Run `parse` (raising ValueError('field: reason')) on every item on its own; return the
    valid items with their index, and a FieldError naming the item's `id_field` for each other.

    A site outside `known_sites` is that item's error. Its FieldError names `valid_id(item)`
    when given (cargo events: the validated id), else the id as stated (declarations)."""
    valid: list[tuple[int, SitedT]] = []
    errors: list[FieldError] = []
    for index, item in enumerate(items, start=first_index):
        if index in skip:
            continue
        stated = item.get(id_field) if isinstance(item, Mapping) else None
        stated = stated if isinstance(stated, str) else None
        try:
            parsed = parse(item)
        except ValueError as exc:
            field, _, reason = str(exc).partition(": ")
            errors.append(FieldError(index, field, reason, stated))
            continue
        if known_sites is not None and parsed.site_id not in known_sites:
            ident = stated if valid_id is None else valid_id(parsed)
            errors.append(FieldError(index, "site_id", f"unknown site {parsed.site_id!r}", ident))
            continue
        valid.append((index, parsed))
    return valid, errors


def parse_items(
    items: Iterable[Any],
    policy: TimePolicy,
    known_sites: set[str] | None = None,
    now: datetime | None = None,
    first_index: int = 0,
    skip: set[int] | frozenset[int] = frozenset(),
) -> tuple[list[tuple[int, CargoEvent]], list[FieldError]]:
    """Validate every item independently; return the valid events with their item index, and
    errors naming field and reason."""
    moment = now or datetime.now(UTC)
    return parse_each(
        items,
        lambda item: parse_event(item, policy, moment),
        "event_id",
        known_sites,
        first_index,
        skip,
        valid_id=lambda event: event.event_id,
    )


# Why a re-sent event was refused: the first copy received stands, and a correction is a new event.
CONFLICT_REASON = (
    "conflicts with an event already received with this event_id and occurred_at at this site;"
    " send a correction as a new event"
)
