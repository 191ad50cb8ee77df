"""Label matchers, shared by channel routes, silences and inhibition rules; pure.

The four operators of Alertmanager's matchers (``=``, ``!=``, ``=~``, ``!~``); regular
expressions are anchored at both ends, as in Alertmanager ("a regex matcher must match the whole
value", https://prometheus.io/docs/alerting/latest/configuration/#matcher). They run on RE2, as
Alertmanager's Go regexp does: linear time in the label's length, so a pattern such as ``(a+)+$``
cannot stall dispatch; RE2 has no backreferences or lookaround, and such patterns are refused. A label that is
absent reads as the empty string, so ``team!=""`` selects alerts that have a team.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, Literal

import re2
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)

Op = Literal["=", "!=", "=~", "!~"]


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> Any:
    """The RE2 program for ``pattern``; raises re2.error if RE2 cannot compile it."""
    options = re2.Options()
    options.log_errors = False  # RE2 would print each refused pattern to stderr
    return re2.compile(pattern, options=options)


class Matcher(BaseModel):
    """``{"name": "severity", "op": "=~", "value": "critical|warning"}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    op: Op = "="
    value: str = Field(max_length=1000)

    @field_validator("value")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @field_validator("value")
    @classmethod
    def _regex_compiles(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("op") in ("=~", "!~"):
            try:
                _compiled(value)
            except re2.error as exc:
                raw = exc.args[0] if exc.args else ""
                reason = raw.decode() if isinstance(raw, bytes) else str(raw)
                raise ValueError(
                    f"is not a regular expression RE2 can run ({reason}); backreferences and"
                    " lookaround are not supported"
                ) from None
        return value

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        found = _compiled(self.value).fullmatch(actual) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{self.value}"'


class UnreadableRow(ValueError):
    """A stored row that no longer parses (written by hand, or by an older version): dispatch
    skips that row and says why, instead of stopping every other channel with it."""

    def __init__(self, field: str, exc: Exception) -> None:
        super().__init__(f"{field}{describe(exc)}")


def describe(exc: Exception) -> str:
    """The first problem of ``exc`` as ``.<location>: <message>`` (a ValidationError), or
    ``: <message>``; short, and with no values from the row."""
    if isinstance(exc, ValidationError) and exc.errors():
        first = exc.errors()[0]
        where = "".join(f".{part}" for part in first["loc"])
        return f"{where}: {first['msg']}"
    return f": {type(exc).__name__}"


_MATCHER_LIST = TypeAdapter(list[Matcher])


def parse_matchers(raw: object, field: str = "matchers") -> list[Matcher]:
    """Matchers from stored JSON (validated when written); raises UnreadableRow naming
    ``field`` when the stored value no longer parses."""
    try:
        return _MATCHER_LIST.validate_python(raw)
    except ValidationError as exc:
        raise UnreadableRow(field, exc) from None


def all_match(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """True when every matcher accepts the labels (an empty list accepts everything)."""
    return all(m.matches(labels) for m in matchers)
