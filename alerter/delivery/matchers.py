"""Label matchers, shared by channel routes, silences and inhibition rules; pure.

The four operators of Alertmanager's matchers (``=``, ``!=``, ``=~``, ``!~``); regular
expressions are anchored at both ends, as in Alertmanager ("a regex matcher must match the whole
value", https://prometheus.io/docs/alerting/latest/configuration/#matcher). A label that is
absent reads as the empty string, so ``team!=""`` selects alerts that have a team.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Op = Literal["=", "!=", "=~", "!~"]


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


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

    @model_validator(mode="after")
    def _regex_compiles(self) -> Matcher:
        if self.op in ("=~", "!~"):
            try:
                _compiled(self.value)
            except re.error as exc:
                raise ValueError(f"value is not a valid regular expression: {exc}") from None
        return self

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


def parse_matchers(raw: Iterable[object]) -> list[Matcher]:
    """Matchers from stored JSON (already validated when written)."""
    return [Matcher.model_validate(item) for item in raw]


def all_match(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """True when every matcher accepts the labels (an empty list accepts everything)."""
    return all(m.matches(labels) for m in matchers)
