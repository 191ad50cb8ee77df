"""User-defined indicators in the database: the catalogue row (`indicator`, builtin = false)
with a series for every node, and every version of the spec (`indicator_spec`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.engine import Connection

from collector.indicators.base import Indicator
from collector.indicators.compile import compile_spec
from collector.indicators.spec import IndicatorSpec

log = logging.getLogger(__name__)

# A built-in's row follows the code; a user-defined upsert never overwrites a built-in's row.
_UPSERT = text(
    "INSERT INTO indicator (code, name_en, name_zh, unit, theme, direction, definition,"
    " forecastable, builtin) VALUES (:code, :name_en, :name_zh, :unit, :theme, :direction,"
    " :definition, :forecastable, :builtin) ON CONFLICT (code) DO UPDATE SET"
    " name_en = EXCLUDED.name_en, name_zh = EXCLUDED.name_zh, unit = EXCLUDED.unit,"
    " theme = EXCLUDED.theme, direction = EXCLUDED.direction,"
    " definition = EXCLUDED.definition, forecastable = EXCLUDED.forecastable"
    " WHERE CAST(:builtin AS boolean) OR NOT indicator.builtin"
)
_SERIES = text(
    "INSERT INTO series (node_id, indicator_code) SELECT n.node_id, i.code"
    " FROM org_node n CROSS JOIN indicator i WHERE i.code = ANY(CAST(:codes AS text[]))"
    " ON CONFLICT DO NOTHING"
)


def upsert_catalogue(conn: Connection, indicators: Sequence[Indicator], *, builtin: bool) -> None:
    """Upsert the `indicator` rows of ``indicators``, so names and definitions follow the code
    (built-ins) or the newest spec (user-defined, which never overwrite a built-in's row)."""
    fields = (
        "code",
        "name_en",
        "name_zh",
        "unit",
        "theme",
        "direction",
        "definition",
        "forecastable",
    )
    rows = [{**{f: getattr(i, f) for f in fields}, "builtin": builtin} for i in indicators]
    conn.execute(_UPSERT, rows)


def register(conn: Connection, indicators: Sequence[Indicator]) -> None:
    """Upsert the catalogue rows of user-defined indicators (never a built-in's) and their series."""
    if not indicators:
        return
    upsert_catalogue(conn, indicators, builtin=False)
    conn.execute(_SERIES, {"codes": [i.code for i in indicators]})


_LATEST = text(
    "SELECT DISTINCT ON (s.code) s.code, s.version, s.node_scope, s.spec, i.state"
    " FROM indicator_spec s JOIN indicator i ON i.code = s.code"
    " ORDER BY s.code, s.version DESC"
)
NATIONAL = "CN"


@dataclass(frozen=True)
class Stored:
    code: str
    version: int
    node_scope: str
    spec: dict[str, Any]
    state: str = "active"


def latest_specs(conn: Connection) -> dict[str, Stored]:
    return {row.code: Stored(*row) for row in conn.execute(_LATEST)}


def active_indicators(conn: Connection) -> list[Indicator]:
    """The latest version of every active (not retired) stored spec, compiled, for the metrics
    cycle, each scoped to its owner's subtree unless national.

    A stored spec this code no longer accepts is skipped (and logged), never the whole cycle.
    """
    out = []
    for stored in latest_specs(conn).values():
        if stored.state != "active":
            continue
        try:
            compiled = compile_spec(IndicatorSpec.model_validate(stored.spec))
        except ValidationError as exc:
            log.error("indicator %s v%d no longer validates: %s", stored.code, stored.version, exc)
            continue
        scope = None if stored.node_scope == NATIONAL else stored.node_scope
        out.append(replace(compiled, version=stored.version, scope=scope))
    return sorted(out, key=lambda i: i.code)


@dataclass(frozen=True)
class Applied:
    code: str
    version: int
    changed: bool


def apply_spec(conn: Connection, spec: IndicatorSpec, node_scope: str, created_by: str) -> Applied:
    """Upsert one spec by code: a changed spec (or scope) is stored as a new version."""
    document = spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    current = conn.execute(
        text(
            "SELECT version, node_scope, spec FROM indicator_spec WHERE code = :c"
            " ORDER BY version DESC LIMIT 1 FOR UPDATE"
        ),
        {"c": spec.code},
    ).first()
    if current is not None and current.spec == document and current.node_scope == node_scope:
        return Applied(spec.code, current.version, changed=False)
    version = 1 if current is None else current.version + 1
    register(conn, [compile_spec(spec)])
    conn.execute(
        text(
            "INSERT INTO indicator_spec (code, version, node_scope, spec, created_by)"
            " VALUES (:c, :v, :s, CAST(:d AS jsonb), :b)"
        ),
        {"c": spec.code, "v": version, "s": node_scope, "d": json.dumps(document), "b": created_by},
    )
    return Applied(spec.code, version, changed=True)
