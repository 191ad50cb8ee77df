"""Annotation templates: sandboxed Jinja2, checked when saved, rendered per instance; pure.

Rule authors are national and office administrators, not developers, so templates run in
Jinja2's SandboxedEnvironment (no attribute access to Python internals) and a template that
fails at render time yields its error text instead of stopping the rule.

Output is bounded: an annotation renders at most ``MAX_ANNOTATION_BYTES`` (16 KiB of UTF-8,
already above every IM message limit, docs/channels.md). ``*`` and ``**`` are checked before
they run, and a template is rendered once with empty data when saved, so ``{{ 'x' * 5000000 }}``
is refused at save time; a rendering that only the data makes longer is cut there and ends with
``TRUNCATED``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import TemplateSyntaxError, meta
from jinja2.exceptions import SecurityError
from jinja2.filters import do_round
from jinja2.nodes import Template as TemplateAst
from jinja2.sandbox import SandboxedEnvironment

MAX_ANNOTATION_BYTES = 16 * 1024
TRUNCATED = " …[truncated at 16 KiB]"
_LIMIT_TEXT = "renders more than 16 KiB (the limit of one annotation)"
_MAX_POWER_BITS = 4096  # 9 ** 99999999 would take minutes and megabytes before any output

COMMON_VARS = frozenset(
    {
        "value",
        "threshold",
        "operator",
        "site",
        "site_name",
        "node",
        "node_name",
        "level",
        "labels",
        "rule",
        "severity",
        "indicator",
        "indicator_name",
        "unit",
        "for",
        "now",
    }
)
KIND_VARS: dict[str, frozenset[str]] = {
    "threshold": frozenset({"recovery_threshold"}),
    "forecast": frozenset({"crossing_at", "probability", "horizon_hours", "hours_to_crossing"}),
    "deadline": frozenset(
        {
            "lot_id",
            "hazard_class",
            "un_number",
            "deadline_at",
            "hours_to_deadline",
            "hours_before",
            "breach_probability",
            "predicted_breach_at",
        }
    ),
    "no_data": frozenset({"minutes", "last_seen", "check"}),
}


class _BoundedSandbox(SandboxedEnvironment):
    """The sandbox, with ``*`` and ``**`` refused before they build something huge."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            _check_repeat(left, right)
            _check_repeat(right, left)
        elif operator == "**" and _power_bits(left, right) > _MAX_POWER_BITS:
            raise SecurityError(f"a power that large {_LIMIT_TEXT}")
        return super().call_binop(context, operator, left, right)


def _check_repeat(seq: Any, times: Any) -> None:
    if isinstance(seq, str | list | tuple) and isinstance(times, int):
        if len(seq) * times > MAX_ANNOTATION_BYTES:
            raise SecurityError(f"a repetition that long {_LIMIT_TEXT}")


def _power_bits(base: Any, exponent: Any) -> float:
    if not isinstance(base, int) or not isinstance(exponent, int) or exponent <= 0:
        return 0
    return abs(base).bit_length() * float(exponent)


def _environment() -> SandboxedEnvironment:
    env = _BoundedSandbox(autoescape=False, keep_trailing_newline=False)
    env.filters["hours"] = _hours_filter
    env.filters["round"] = _round_filter
    return env


def _round_filter(value: Any, precision: int = 0, method: str = "common") -> Any:
    """Jinja's round, tolerant of None: a NoData instance has no value to round."""
    if value is None:
        return "?"
    return do_round(value, precision, method)  # type: ignore[arg-type]


def _hours_filter(value: Any, digits: int = 1) -> str:
    """Render a number of hours as "12.5 h"; tolerant of None (missing data)."""
    if value is None:
        return "?"
    return f"{round(float(value), digits)} h"


_ENV = _environment()


def template_problem(source: str, kind: str) -> str | None:
    """Why a template cannot be used for a rule of this kind, or None when it is fine."""
    try:
        ast: TemplateAst = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        return f"template syntax error on line {exc.lineno}: {exc.message}"
    unknown = sorted(meta.find_undeclared_variables(ast) - COMMON_VARS - KIND_VARS.get(kind, set()))
    if unknown:
        allowed = ", ".join(sorted(COMMON_VARS | KIND_VARS.get(kind, frozenset())))
        return f"unknown variable {unknown[0]!r}; use one of {allowed}"
    return _size_problem(source)


def _size_problem(source: str) -> str | None:
    """Render once with no data: a template too big even then can never fit."""
    try:
        _, cut = _bounded(source, {})
    except SecurityError as exc:
        return str(exc)
    except Exception:  # other failures depend on the data and show as text when rendered
        return None
    return _LIMIT_TEXT if cut else None


@lru_cache(maxsize=2048)
def _compiled(source: str) -> Any:
    return _ENV.from_string(source)


def _bounded(source: str, context: Mapping[str, Any]) -> tuple[str, bool]:
    """(output, cut): rendered piece by piece, stopping once past MAX_ANNOTATION_BYTES."""
    pieces, size = [], 0
    for piece in _compiled(source).generate(**context):
        pieces.append(piece)
        size += len(piece.encode())
        if size > MAX_ANNOTATION_BYTES:
            head = "".join(pieces).encode()[:MAX_ANNOTATION_BYTES]
            return head.decode(errors="ignore"), True
    return "".join(pieces), False


def render(source: str, context: Mapping[str, Any]) -> str:
    """Render one annotation, at most MAX_ANNOTATION_BYTES then TRUNCATED; a failure becomes
    the text of the error, never an exception."""
    try:
        text, cut = _bounded(source, context)
    except Exception as exc:  # a template bug must not stop evaluation of the rule
        return f"[template error: {type(exc).__name__}: {exc}]"
    return text.strip() + TRUNCATED if cut else text.strip()


def render_all(templates: Mapping[str, str], context: Mapping[str, Any]) -> dict[str, str]:
    return {key: render(source, context) for key, source in templates.items()}
