"""Customs declarations as traders and stations send them: one pydantic model for push, pull and
file import, validated item by item the way collector.events validates cargo events.

`parse_declarations` returns the valid declarations (with value_cny filled from fx_rate when the
sender did not state it) and a FieldError (position, field, reason) for each rejected item.

Whatever passes can be stored and screened: text holds no NUL (nor lone surrogates), instants
lie in [2000-01-01Z, now + skew] (collector.events.to_utc), and every number lies in LIMITS,
so value_cny and every ratio the screening SQL computes from them (derived_values) is a finite,
normal float8. Anything else is that item's error, never the batch's.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from sqlalchemy.engine import Connection

from collector.events import (
    FieldError,
    TimePolicy,
    intake_row,
    parse_each,
    to_utc,
    validate_item,
)

_HS = re.compile(r"^[0-9]{8}([0-9]{2})?$")
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
_DECLARATION_ROW = intake_row(DECLARATION_COLUMNS)

# Sane ranges (inclusive) of the stated numbers, in the declaration's currency, its quantity
# unit and kilograms: a milligram or a millionth of a yuan up to a billion tonnes or 10^15 CNY
# (the largest real declarations are around 10^10 CNY and 10^9 kg). Within them every ratio
# the screening computes lies in [1e-18, 1e21], and ratios of ratios in [1e-39, 1e39], far
# inside float8: no input can make the scoring SQL overflow or underflow.
LIMITS: dict[str, tuple[float, float]] = {
    "declared_value": (1e-6, 1e15),
    "value_cny": (1e-6, 1e15),
    "quantity": (1e-6, 1e12),
    "gross_kg": (1e-6, 1e12),
    "net_kg": (1e-6, 1e12),
}


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

    @field_validator("declaration_id", "site_id", "trader_id", mode="after")
    @classmethod
    def _storable(cls, value: str) -> str:
        return _text(value)

    @field_validator(*LIMITS, mode="after")
    @classmethod
    def _in_range(cls, value: float | None, info: ValidationInfo) -> float | None:
        lo, hi = LIMITS[info.field_name or ""]
        if value is not None and not lo <= value <= hi:
            raise ValueError(f"must be from {lo:g} to {hi:g}")
        return value

    @field_validator("hs_code", mode="before")
    @classmethod
    def _hs_code(cls, value: Any) -> Any:
        text = re.sub(r"[\s.]", "", _text(str(value)))
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
        """The row in DECLARATION_COLUMNS order (see collector.events.intake_row)."""
        return _DECLARATION_ROW(self, source, received_at)


def _text(value: str) -> str:
    """Text PostgreSQL can store (pydantic already refuses lone surrogates)."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _coded(value: Any, pattern: re.Pattern[str], reason: str) -> str:
    text = _text(str(value)).strip().upper()
    if not pattern.match(text):
        raise ValueError(reason)
    return text


def derived_values(
    value_cny: float, quantity: float, gross_kg: float, net_kg: float | None
) -> dict[str, float]:
    """Every ratio the screening SQL computes from one declaration (FEATURE_SQL and RULE_SQL
    in features.py, references.py), keyed by the field that would be at fault: the unit value
    (quantity), the value per kg (net, else gross) and net over gross (gross_kg)."""
    out = {"quantity": value_cny / quantity}
    if net_kg is None:
        out["gross_kg"] = value_cny / gross_kg
    else:
        out["net_kg"] = value_cny / net_kg
        out["gross_kg"] = net_kg / gross_kg
    return out


def _normal(x: float) -> bool:
    """A finite float8 that is not subnormal: PostgreSQL raises on overflow and underflow."""
    return math.isfinite(x) and abs(x) >= sys.float_info.min


def _check_values(declaration: Declaration, value_cny: float) -> None:
    lo, hi = LIMITS["value_cny"]
    if not (_normal(value_cny) and lo <= value_cny <= hi):
        field = "declared_value" if declaration.value_cny is None else "value_cny"
        raise ValueError(f"{field}: is {value_cny:g} CNY, outside {lo:g} to {hi:g} CNY")
    ratios = derived_values(
        value_cny, declaration.quantity, declaration.gross_kg, declaration.net_kg
    )
    for field, x in ratios.items():
        if not _normal(x):  # unreachable within LIMITS; kept so a wider limit cannot slip
            raise ValueError(f"{field}: gives a ratio ({x:g}) outside the float8 range")


def parse_declaration(
    item: Any, policy: TimePolicy, rates: Mapping[str, float], now: datetime
) -> Declaration:
    """Validate one item; raise ValueError('field: reason') for the first problem found."""
    declaration = validate_item(Declaration, item)
    update: dict[str, Any] = {
        "declared_at": to_utc(declaration.declared_at, "declared_at", policy, now)
    }
    if declaration.amended_at is not None:
        update["amended_at"] = to_utc(declaration.amended_at, "amended_at", policy, now)
    if declaration.net_kg is not None and declaration.net_kg > declaration.gross_kg * 100:
        # Net above gross is a screening matter (flagged, not refused); a hundredfold is a typo.
        raise ValueError("net_kg: is more than 100 times gross_kg")
    value_cny = declaration.value_cny
    if value_cny is None:
        rate = rates.get(declaration.currency)
        if rate is None:
            raise ValueError(
                f"currency: no CNY rate for {declaration.currency}; send value_cny as well"
            )
        value_cny = update["value_cny"] = declaration.declared_value * rate
    _check_values(declaration, value_cny)
    return declaration.model_copy(update=update)


def parse_declarations(
    items: Iterable[Any], policy: TimePolicy, rates: Mapping[str, float]
) -> tuple[list[Declaration], list[FieldError]]:
    """Validate every item independently; return (valid declarations, errors naming field and
    reason). parse_indexed is the same with each item's index, a site check and a clock."""
    valid, errors = parse_indexed(items, policy, rates)
    return [declaration for _, declaration in valid], errors


def parse_indexed(
    items: Iterable[Any],
    policy: TimePolicy,
    rates: Mapping[str, float],
    known_sites: set[str] | None = None,
    now: datetime | None = None,
    skip: set[int] | frozenset[int] = frozenset(),
) -> tuple[list[tuple[int, Declaration]], list[FieldError]]:
    """As parse_declarations, each valid declaration with its item's index. A site outside
    `known_sites` (the token's subtree) is an error of that item; the items at the
    indexes in `skip` are passed over."""
    moment = now or datetime.now(UTC)
    return parse_each(
        items,
        lambda item: parse_declaration(item, policy, rates, moment),
        "declaration_id",
        known_sites,
        skip=skip,
    )


def load_rates(conn: Connection) -> dict[str, float]:
    from sqlalchemy import text

    rows = conn.execute(text("SELECT currency, cny_per_unit FROM fx_rate"))
    return {row[0]: float(row[1]) for row in rows}
