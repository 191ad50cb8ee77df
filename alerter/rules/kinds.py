"""Rule kinds as pydantic models, and `parse_rule`, whose errors name the field; pure.

Four kinds share `RuleBase` (scope, severity, timing, labels, annotations, override policy):

- ``threshold``: an indicator's latest value against a threshold, with an optional recovery
  threshold (hysteresis: once firing, it keeps firing until the value passes the recovery line);
- ``forecast``: the forecaster predicts the indicator crosses the threshold within the horizon
  with at least ``min_probability`` (reads ``forecast_crossing``);
- ``deadline``: a hazardous lot is within ``hours_before`` of its storage deadline, or its
  predicted breach probability reaches ``min_breach_probability`` (one instance per lot);
- ``no_data``: a site stopped reporting, by its feed silence or by the age of its newest point;
  with ``expected: learned`` a feed silence fires only once a gap that long is improbable (below
  ``max_probability``) under the site's own event rate at that hour of the week.

Each kind has one *tunable* parameter that a descendant node may override (see inheritance.py):
the threshold, ``hours_before`` or ``minutes``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

from alerter.rules.durations import Duration, format_duration
from alerter.rules.templating import template_problem

Severity = Literal["critical", "warning", "info"]
Level = Literal["national", "customs", "office", "site"]
Operator = Literal[">", ">=", "<", "<="]
Policy = Literal["none", "tighten_only", "any"]
NoDataState = Literal["NoData", "Normal", "Alerting", "KeepLast"]
ErrorState = Literal["Error", "Normal", "Alerting", "KeepLast"]
KINDS = ("threshold", "forecast", "deadline", "no_data")
LEVELS: tuple[Level, ...] = ("national", "customs", "office", "site")
POLICY_RANK = {"none": 0, "tighten_only": 1, "any": 2}

RuleName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.\-]{0,99}$")]
LabelName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
# Labels the evaluator sets on every instance; a rule may not redefine them.
RESERVED_LABELS = frozenset(
    {"alertname", "severity", "kind", "node", "level", "site", "office", "customs", "rule_id"}
)


class RuleBase(BaseModel):
    # No NaN or infinity: they cannot be compared sensibly nor stored in jsonb.
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False
    )

    name: RuleName
    description: str = Field("", max_length=2000)
    node_id: str = "CN"
    enabled: bool = True
    severity: Severity = "warning"
    level: Level = "site"
    for_: Duration = Field(timedelta(0), alias="for")
    keep_firing_for: Duration = timedelta(0)
    labels: dict[LabelName, Annotated[str, Field(max_length=200)]] = Field(default_factory=dict)
    annotations: dict[LabelName, Annotated[str, Field(max_length=4000)]] = Field(
        default_factory=dict
    )
    override_policy: Policy = "tighten_only"
    no_data_state: NoDataState = "NoData"
    error_state: ErrorState = "Error"

    TUNABLE: ClassVar[str] = "threshold"
    DEFAULT_SUMMARY: ClassVar[str] = "{{ rule }} at {{ node_name }}: {{ value }}"

    @property
    def tunable_value(self) -> float:
        return float(getattr(self, self.TUNABLE))

    def lower_is_stricter(self) -> bool:
        """True when a lower tunable value makes the rule fire sooner."""
        return True

    def tuned(self, value: float, recovery: float | None = None) -> Self:
        return self.model_copy(update={self.TUNABLE: value})

    @property
    def indicator_code(self) -> str | None:
        return None

    def summary_template(self) -> str:
        return self.annotations.get("summary", self.DEFAULT_SUMMARY)

    def condition(self) -> str:
        return f"{self.TUNABLE} {self.tunable_value:g}"

    def describe(self) -> str:
        """One line for tables and audit logs."""
        text = self.condition()
        if self.for_:
            text += f" for {format_duration(self.for_)}"
        return text

    def as_spec(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


def _fires_above(operator: str) -> bool:
    return operator in (">", ">=")


class _IndicatorRule(RuleBase):
    """An indicator's value against a threshold: the threshold and forecast kinds."""

    kind: str  # narrowed to a literal by each kind; declared here so it stays before indicator
    indicator: str = Field(min_length=1, max_length=100)
    operator: Operator = ">"
    threshold: float

    def lower_is_stricter(self) -> bool:
        return _fires_above(self.operator)

    @property
    def indicator_code(self) -> str | None:
        return self.indicator


class ThresholdRule(_IndicatorRule):
    kind: Literal["threshold"]
    recovery_threshold: float | None = None
    # Older points are no data: the metrics cycle writes every minute.
    max_data_age: Duration = timedelta(minutes=10)

    DEFAULT_SUMMARY: ClassVar[str] = (
        "{{ indicator_name }} at {{ node_name }} is {{ value | round(2) }} {{ unit }}"
        " ({{ operator }} {{ threshold }})"
    )

    def tuned(self, value: float, recovery: float | None = None) -> Self:
        # Without an explicit recovery, keep the parent's hysteresis width.
        if recovery is None and self.recovery_threshold is not None:
            recovery = value - (self.threshold - self.recovery_threshold)
        return self.model_copy(update={"threshold": value, "recovery_threshold": recovery})

    def condition(self) -> str:
        text = f"{self.indicator} {self.operator} {self.threshold:g}"
        if self.recovery_threshold is not None:
            text += f" (recovers past {self.recovery_threshold:g})"
        return text


class ForecastRule(_IndicatorRule):
    kind: Literal["forecast"]
    horizon_hours: float = Field(gt=0, le=24 * 14)
    min_probability: float = Field(0.5, gt=0, le=1)
    # A forecast older than this is no data (the forecaster runs every 15 minutes).
    max_forecast_age: Duration = timedelta(hours=2)

    DEFAULT_SUMMARY: ClassVar[str] = (
        "{{ indicator_name }} at {{ node_name }} is predicted to cross {{ threshold }}"
        " at {{ crossing_at }} (in {{ hours_to_crossing | hours }}, p≈{{ probability | round(2) }})"
    )

    @property
    def direction(self) -> str:
        return "above" if _fires_above(self.operator) else "below"

    def condition(self) -> str:
        return (
            f"forecast {self.indicator} {self.operator} {self.threshold:g}"
            f" within {self.horizon_hours:g} h, p >= {self.min_probability:g}"
        )


class DeadlineRule(RuleBase):
    kind: Literal["deadline"]
    hours_before: float = Field(ge=0, le=24 * 30)
    min_breach_probability: float | None = Field(None, gt=0, le=1)
    hazard_classes: list[Annotated[str, Field(min_length=1, max_length=8)]] | None = None

    TUNABLE: ClassVar[str] = "hours_before"
    DEFAULT_SUMMARY: ClassVar[str] = (
        "Hazardous lot {{ lot_id }} (class {{ hazard_class }}, UN {{ un_number }}) at"
        " {{ site_name }}: deadline {{ deadline_at }}, {{ hours_to_deadline | hours }} left"
    )

    def lower_is_stricter(self) -> bool:
        return False  # warning more hours ahead is stricter

    def condition(self) -> str:
        text = f"hazardous lot within {self.hours_before:g} h of its deadline"
        if self.min_breach_probability is not None:
            text += f" or breach p >= {self.min_breach_probability:g}"
        return text


class NoDataRule(RuleBase):
    kind: Literal["no_data"]
    check: Literal["feed_silence", "stale_series"] = "feed_silence"
    minutes: float = Field(gt=0, le=60 * 24 * 7)
    # stale_series: the indicator whose newest point counts (any of the node's when absent)
    indicator: str | None = Field(None, min_length=1, max_length=100)
    # learned: `minutes` becomes the floor, stretched to the gap whose probability under the
    # site's learned hourly rate is max_probability (a quiet port is quiet at night too)
    expected: Literal["fixed", "learned"] = "fixed"
    max_probability: float = Field(0.001, gt=0, lt=1)

    TUNABLE: ClassVar[str] = "minutes"
    DEFAULT_SUMMARY: ClassVar[str] = (
        "{{ node_name }} has not reported for {{ value | round(0) }} min (limit {{ minutes }})"
    )

    @property
    def indicator_code(self) -> str | None:
        return "feed_silence_minutes" if self.check == "feed_silence" else self.indicator

    def condition(self) -> str:
        text = f"{self.check} > {self.minutes:g} min"
        if self.expected == "learned":
            text += f" and p < {self.max_probability:g} at the learned rate"
        return text


Rule = Annotated[
    ThresholdRule | ForecastRule | DeadlineRule | NoDataRule, Field(discriminator="kind")
]
AnyRule = ThresholdRule | ForecastRule | DeadlineRule | NoDataRule
_ADAPTER: TypeAdapter[AnyRule] = TypeAdapter(Rule)


def rule_json_schema() -> dict[str, Any]:
    """The JSON schema of a rule body with its references inlined (OpenAPI 3.0 has no $defs)."""
    schema = _ADAPTER.json_schema(by_alias=True)
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(defs[node["$ref"].rsplit("/", 1)[-1]])
            # the discriminator's mapping points at $defs, which are gone
            return {k: inline(v) for k, v in node.items() if k != "discriminator"}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    inlined: dict[str, Any] = inline(schema)
    return inlined


class RuleError(ValueError):
    """A rule failed validation; `errors` lists (field, reason) pairs, fields dotted."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in errors))

    def as_dicts(self) -> list[dict[str, str]]:
        return [{"field": field, "reason": reason} for field, reason in self.errors]


_REASONS = {
    "missing": "is required",
    "extra_forbidden": "is not a field of this rule kind",
    "string_pattern_mismatch": "has characters that are not allowed",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "finite_number": "must be a finite number",
    "union_tag_not_found": "is required (threshold, forecast, deadline or no_data)",
    "union_tag_invalid": "must be one of threshold, forecast, deadline, no_data",
}


def _field(loc: tuple[int | str, ...]) -> str:
    parts = list(loc)
    if len(parts) > 1 and parts[0] in KINDS:
        parts = parts[1:]  # the discriminated union prefixes the kind
    return ".".join(str(part) for part in parts) or "rule"


def _reason(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "union_tag_invalid" or kind == "union_tag_not_found":
        return _REASONS[kind]
    if kind == "literal_error":
        return f"must be one of {error['ctx']['expected']}"
    if kind == "value_error":
        return str(error["ctx"]["error"]) if "ctx" in error else str(error["msg"])
    return _REASONS.get(kind, str(error["msg"]))


def _loc(error: Mapping[str, Any]) -> tuple[int | str, ...]:
    loc: tuple[int | str, ...] = error["loc"]
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return ("kind",)
    return loc


def parse_rule(data: Any) -> AnyRule:
    """Validate a rule (a mapping); raise RuleError naming every field at fault."""
    if not isinstance(data, Mapping):
        raise RuleError([("rule", "must be an object")])
    try:
        rule = _ADAPTER.validate_python(dict(data))
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise RuleError([(_field(_loc(e)), _reason(e)) for e in errors]) from None
    problems = semantic_problems(rule)
    if problems:
        raise RuleError(problems)
    return rule


def semantic_problems(rule: AnyRule) -> list[tuple[str, str]]:
    """Checks across fields that pydantic's per-field validation cannot express."""
    problems = []
    for key in rule.labels:
        if key in RESERVED_LABELS:
            problems.append((f"labels.{key}", "is set by the evaluator; use the rule's field"))
    for key, source in rule.annotations.items():
        problem = template_problem(source, rule.kind)
        if problem:
            problems.append((f"annotations.{key}", problem))
    if isinstance(rule, ThresholdRule) and rule.recovery_threshold is not None:
        above = _fires_above(rule.operator)
        if above and rule.recovery_threshold > rule.threshold:
            problems.append(
                ("recovery_threshold", f"must be at or below threshold {rule.threshold:g}")
            )
        if not above and rule.recovery_threshold < rule.threshold:
            problems.append(
                ("recovery_threshold", f"must be at or above threshold {rule.threshold:g}")
            )
    if isinstance(rule, DeadlineRule) and rule.level != "site":
        problems.append(("level", "deadline rules watch lots, which are at sites: use site"))
    if isinstance(rule, NoDataRule) and rule.check == "feed_silence" and rule.indicator:
        problems.append(("indicator", "only a stale_series check reads an indicator"))
    if isinstance(rule, NoDataRule) and rule.check == "stale_series" and rule.expected != "fixed":
        problems.append(("expected", "only a feed_silence check learns an event rate"))
    return problems


def level_problem(rule: AnyRule, node_level: str | None) -> tuple[str, str] | None:
    """The rule's level must be its node's level or below it (a site rule at an office is fine)."""
    if node_level is None:
        return ("node_id", f"unknown org node {rule.node_id!r}")
    if LEVELS.index(rule.level) < [str(level) for level in LEVELS].index(node_level):
        return ("level", f"{rule.level} is above the rule's node level {node_level}")
    return None
