"""Annotation templates: sandboxed Jinja2, checked when saved, rendered per instance; pure.

Rule authors are national and office administrators, not developers, so templates run in
Jinja2's SandboxedEnvironment (no attribute access to Python internals) and a template that
fails at render time yields its error text instead of stopping the rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import TemplateSyntaxError, meta
from jinja2.filters import do_round
from jinja2.nodes import Template as TemplateAst
from jinja2.sandbox import SandboxedEnvironment

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


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(autoescape=False, keep_trailing_newline=False)
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
    return None


@lru_cache(maxsize=2048)
def _compiled(source: str) -> Any:
    return _ENV.from_string(source)


def render(source: str, context: Mapping[str, Any]) -> str:
    """Render one annotation; a failure becomes the text of the error, never an exception."""
    try:
        return str(_compiled(source).render(**context)).strip()
    except Exception as exc:  # a template bug must not stop evaluation of the rule
        return f"[template error: {type(exc).__name__}: {exc}]"


def render_all(templates: Mapping[str, str], context: Mapping[str, Any]) -> dict[str, str]:
    return {key: render(source, context) for key, source in templates.items()}
