"""Customs declarations as traders and stations send them: one pydantic model for push, pull and
file import, validated item by item the way collector.events validates cargo events.

`parse_declarations` returns the valid declarations (with value_cny filled from fx_rate when the
sender did not state it) and a FieldError (position, field, reason) for each rejected item.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.engine import Connection

from collector.events import FieldError, TimePolicy, _first_error

_HS = re.compile(r"^\d{8}(\d{2})?$")
_ISO2 = re.compile(r"^[A-Z]{2}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_UNIT = re.compile(r"^[A-Z0-9]{1,8}$")

# Column order of the rows the store copies into its stage (the input part of `declaration`).
DECLARATION_COLUMNS = (
    "declaration_id",
    "declared_at",
    "received_at",
    "site_id",
    "trader_id",
    "hs_code",
    "origin",
    "direction",
    "declared_value",
    "currency",
    "value_cny",
    "quantity",
    "unit",
    "gross_kg",
    "net_kg",
    "transport_mode",
    "amendment_no",
    "amended_at",
    "source",
)
DeclarationRow = tuple[Any, ...]


class Declaration(BaseModel):
    """One customs declaration (or an amendment of one: same id and time, higher amendment_no)."""

    model_config = ConfigDict(
        extra="ignore", str_strip_whitespace=True, frozen=True, allow_inf_nan=False
    )

    declaration_id: str = Field(min_length=1, max_length=64)
    declared_at: datetime
    site_id: str = Field(min_length=1, max_length=64)
    trader_id: str = Field(min_length=1, max_length=64)
    hs_code: str
    origin: str
    direction: Literal["import", "export"] = "import"
    declared_value: float = Field(gt=0)
    currency: str
    value_cny: float | None = Field(default=None, gt=0)
    quantity: float = Field(gt=0)
    unit: str
    gross_kg: float = Field(gt=0)
    net_kg: float | None = Field(default=None, gt=0)
    transport_mode: Literal["sea", "air", "road", "rail", "post", "other"] | None = None
    amendment_no: int = Field(default=0, ge=0, le=999)
    amended_at: datetime | None = None

    @field_validator("hs_code", mode="before")
    @classmethod
    def _hs_code(cls, value: Any) -> Any:
        text = re.sub(r"[\s.]", "", str(value))
        if not _HS.match(text):
            raise ValueError("an HS code is 8 or 10 digits, e.g. 85171300")
        return text

    @field_validator("origin", mode="before")
    @classmethod
    def _origin(cls, value: Any) -> Any:
        return _coded(value, _ISO2, "an ISO 3166 alpha-2 country code, e.g. VN")

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, value: Any) -> Any:
        return _coded(value, _CURRENCY, "an ISO 4217 currency code, e.g. USD")

    @field_validator("unit", mode="before")
    @classmethod
    def _unit(cls, value: Any) -> Any:
        return _coded(value, _UNIT, "a unit code of up to 8 letters or digits, e.g. KG or PCS")

    def as_row(self, source: str, received_at: datetime) -> DeclarationRow:
        return (
            self.declaration_id,
            self.declared_at,
            received_at,
            self.site_id,
            self.trader_id,
            self.hs_code,
            self.origin,
            self.direction,
            self.declared_value,
            self.currency,
            self.value_cny,
            self.quantity,
            self.unit,
            self.gross_kg,
            self.net_kg,
            self.transport_mode,
            self.amendment_no,
            self.amended_at,
            source,
        )


def _coded(value: Any, pattern: re.Pattern[str], reason: str) -> str:
    text = str(value).strip().upper()
    if not pattern.match(text):
        raise ValueError(reason)
    return text


def _utc(moment: datetime, field: str, policy: TimePolicy, now: datetime) -> datetime:
    if moment.tzinfo is None:
        if policy.naive_zone is None:
            raise ValueError(
                f"{field}: has no time zone offset; send e.g. 2026-03-01T08:00:00+08:00"
            )
        moment = moment.replace(tzinfo=ZoneInfo(policy.naive_zone))
    moment = moment.astimezone(UTC)
    if moment - now > policy.max_skew:
        ahead = int((moment - now).total_seconds())
        raise ValueError(f"{field}: is {ahead} s in the future (clock skew?)")
    return moment


def parse_declaration(
    item: Any, policy: TimePolicy, rates: Mapping[str, float], now: datetime
) -> Declaration:
    """Validate one item; raise ValueError('field: reason') for the first problem found."""
    if not isinstance(item, Mapping):
        raise ValueError("item: must be a JSON object")
    try:
        declaration = Declaration.model_validate(item)
    except ValidationError as exc:
        field, reason = _first_error(exc)
        raise ValueError(f"{field}: {reason}") from None
    update: dict[str, Any] = {
        "declared_at": _utc(declaration.declared_at, "declared_at", policy, now)
    }
    if declaration.amended_at is not None:
        update["amended_at"] = _utc(declaration.amended_at, "amended_at", policy, now)
    if declaration.net_kg is not None and declaration.net_kg > declaration.gross_kg * 100:
        # Net above gross is a screening matter (flagged, not refused); a hundredfold is a typo.
        raise ValueError("net_kg: is more than 100 times gross_kg")
    if declaration.value_cny is None:
        rate = rates.get(declaration.currency)
        if rate is None:
            raise ValueError(
                f"currency: no CNY rate for {declaration.currency}; send value_cny as well"
            )
        update["value_cny"] = declaration.declared_value * rate
    return declaration.model_copy(update=update)


def parse_declarations(
    items: Iterable[Any],
    policy: TimePolicy,
    rates: Mapping[str, float],
    known_sites: set[str] | None = None,
    now: datetime | None = None,
    skip: set[int] | frozenset[int] = frozenset(),
) -> tuple[list[Declaration], list[FieldError]]:
    """Validate every item independently; return (valid declarations, errors naming field and
    reason). A site outside `known_sites` (the token's subtree) is an error of that item."""
    now = now or datetime.now(UTC)
    valid: list[Declaration] = []
    errors: list[FieldError] = []
    for index, item in enumerate(items):
        if index in skip:
            continue
        ident = item.get("declaration_id") if isinstance(item, Mapping) else None
        ident = ident if isinstance(ident, str) else None
        try:
            declaration = parse_declaration(item, policy, rates, now)
        except ValueError as exc:
            field, _, reason = str(exc).partition(": ")
            errors.append(FieldError(index, field, reason, ident))
            continue
        if known_sites is not None and declaration.site_id not in known_sites:
            errors.append(
                FieldError(index, "site_id", f"unknown site {declaration.site_id!r}", ident)
            )
            continue
        valid.append(declaration)
    return valid, errors


def load_rates(conn: Connection) -> dict[str, float]:
    from sqlalchemy import text

    rows = conn.execute(text("SELECT currency, cny_per_unit FROM fx_rate"))
    return {row[0]: float(row[1]) for row in rows}
