"""Query arguments: the typed readers every list uses, and ``@query``, with which a route
declares the arguments it reads. Writes nothing; imports no product package.

Split from quaywatch.http.support, which re-exports every name here, so blueprints import one
module. Absent or empty means the default; a bad value is a 400 naming the argument.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any, Literal, TypeVar, overload

from flask import g, request

from quaywatch.errors import bad_arg

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_LIMIT = 100
MAX_LIMIT = 500
MAX_OFFSET = 10**9


# --- query arguments: absent or empty means the default ------------------------------------


def _given(name: str) -> str | None:
    raw = request.args.get(name)
    return None if raw is None or raw == "" else raw


@overload
def int_arg(name: str, default: int, low: int = 0, high: int | None = None) -> int: ...
@overload
def int_arg(
    name: str, default: None = None, low: int = 0, high: int | None = None
) -> int | None: ...
def int_arg(
    name: str, default: int | None = None, low: int = 0, high: int | None = None
) -> int | None:
    """A whole number (ASCII digits) from ``low`` to ``high`` (no upper bound when None)."""
    raw = _given(name)
    if raw is None:
        return default
    # isdigit() alone also accepts "²", which int() refuses.
    whole = raw.isascii() and raw.isdigit()
    if not whole or int(raw) < low or (high is not None and int(raw) > high):
        bounds = f" from {low} to {high}" if high is not None else ""
        raise bad_arg(name, f"must be a whole number{bounds}")
    return int(raw)


@overload
def float_arg(name: str, default: float, low: float = ..., high: float = ...) -> float: ...
@overload
def float_arg(
    name: str, default: None = None, low: float = ..., high: float = ...
) -> float | None: ...
def float_arg(
    name: str, default: float | None = None, low: float = -math.inf, high: float = math.inf
) -> float | None:
    """A number; with bounds, one from ``low`` to ``high`` (which NaN is not)."""
    raw = _given(name)
    if raw is None:
        return default
    bounded = math.isfinite(low) or math.isfinite(high)
    reason = f"must be a number from {low:g} to {high:g}" if bounded else "must be a number"
    try:
        value = float(raw)
    except ValueError:
        raise bad_arg(name, reason) from None
    if bounded and not low <= value <= high:
        raise bad_arg(name, reason)
    return value


def bool_arg(name: str) -> bool | None:
    raw = _given(name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise bad_arg(name, "must be true or false")
    return raw == "true"


def time_arg(name: str) -> datetime | None:
    raw = _given(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise bad_arg(name, "must be an ISO 8601 time with an offset")
    return moment


def filters(
    allowed: Iterable[str], typed: Mapping[str, Callable[[str], object]] | None = None
) -> dict[str, str]:
    """The query arguments a list understands, as sent; other arguments are ignored. Those in
    ``typed`` are checked by their parser first, so a bad value is a 400 naming it, never a
    database error."""
    found = {key: request.args[key] for key in allowed if request.args.get(key)}
    for key in found:
        if typed and key in typed:
            typed[key](key)
    return found


# --- query declarations: each route names the query arguments it reads, once --------------
# @query(...) puts them in the OpenAPI document (quaywatch.http.openapi) and, before the view runs,
# refuses an argument it does not name and checks each declared one by the helper of its type
# (same 400s as the helpers, so the document never promises more than the view accepts). A
# route without @query accepts any argument, as before: new blueprints keep working until they
# declare theirs (tests/test_http_api.py lists the routes that read arguments undeclared).

ParamType = Literal["string", "integer", "number", "boolean", "date-time"]


@dataclass(frozen=True)
class Param:
    """One query argument of an operation: absent or empty means its default."""

    name: str
    type: ParamType = "string"
    description: str = ""
    minimum: float | None = None
    maximum: float | None = None
    enum: tuple[str, ...] | None = None
    required: bool = False

    def schema(self) -> dict[str, Any]:
        if self.type == "date-time":
            return {"type": "string", "format": "date-time"}
        schema: dict[str, Any] = {"type": self.type}
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        if self.enum is not None:
            schema["enum"] = list(self.enum)
        return schema

    def check(self) -> None:
        """400 naming the argument when its value is not of the declared type and bounds, or
        when it is given more than once: every argument is one value, and reading only the first
        of ``?node=2200&node=5300`` would let a proxy or log see another value than we act on."""
        if len(request.args.getlist(self.name)) > 1:
            raise bad_arg(self.name, "must be given once")
        if self.type == "integer":
            high = None if self.maximum is None else int(self.maximum)
            int_arg(self.name, None, int(self.minimum or 0), high)
        elif self.type == "number":
            low = -math.inf if self.minimum is None else self.minimum
            float_arg(self.name, None, low, math.inf if self.maximum is None else self.maximum)
        elif self.type == "boolean":
            bool_arg(self.name)
        elif self.type == "date-time":
            time_arg(self.name)
        raw = _given(self.name)
        if raw is None and self.required:
            raise bad_arg(self.name, "is required")
        if raw is not None and self.enum is not None and raw not in self.enum:
            raise bad_arg(self.name, f"must be one of {', '.join(self.enum)}")


LIMIT = Param("limit", "integer", "page size", 1, MAX_LIMIT)
OFFSET = Param("offset", "integer", "rows to skip", 0, MAX_OFFSET)
PAGE = (LIMIT, OFFSET)  # page_args()
NODE = Param("node", description="an org node in the token's subtree (default: the token's)")
ID_MAX = 2**63 - 1  # a bigint id


def query(*params: Param) -> Callable[[F], F]:
    """Declare the query arguments a view reads (place it below ``@require``, so a caller
    without a token learns nothing: 401 first). Any other argument is a 400 naming it and the
    accepted ones."""
    declared = {param.name for param in params}
    accepted = ", ".join(sorted(declared)) or "none"

    def decorate(view: F) -> F:
        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            # A view that calls another (GET /lots?lot_id= answers as GET /lots/<id>) is
            # governed by the outer declaration alone.
            if g.get("query_checked"):
                return view(*args, **kwargs)
            g.query_checked = True
            unknown = sorted(set(request.args) - declared)
            if unknown:
                raise bad_arg(
                    unknown[0], f"is not a parameter of this operation (accepted: {accepted})"
                )
            for param in params:
                param.check()
            return view(*args, **kwargs)

        checked._query_params = params  # type: ignore[attr-defined]
        return checked  # type: ignore[return-value]

    return decorate


def query_params(view: Callable[..., Any]) -> tuple[Param, ...] | None:
    """The view's declared query arguments; None when it declares none (accepts any)."""
    declared: tuple[Param, ...] | None = getattr(view, "_query_params", None)
    return declared


def page_args() -> tuple[int, int]:
    """(limit, offset) from ``?limit=`` (1-500, default 100) and ``?offset=`` (default 0)."""
    return int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT), int_arg("offset", 0, 0, MAX_OFFSET)
