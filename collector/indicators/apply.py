"""`quaywatch indicators apply FILE.yaml`: validate every spec of a file, then upsert them all.

The file is a list of specs, or a mapping with `indicators:` (a list) and an optional default
`scope:`; an entry may carry its own `scope` (the owning node, default CN). Nothing is stored
unless every entry is valid; each problem is one line `FILE: indicator CODE: field: reason`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.engine import Connection

from collector.indicators.namespace import code_problem
from collector.indicators.spec import IndicatorSpec
from collector.indicators.store import Applied, apply_spec
from collector.metric_definitions import BY_CODE


@dataclass(frozen=True)
class Entry:
    spec: IndicatorSpec
    scope: str


class SpecFileError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _entries(path: Path) -> tuple[list[Any], str]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecFileError([f"{path}: not YAML: {exc}"]) from exc
    if isinstance(document, dict) and isinstance(document.get("indicators"), list):
        return document["indicators"], str(document.get("scope", "CN"))
    if isinstance(document, list):
        return document, "CN"
    raise SpecFileError([f"{path}: expected a list of indicators or `indicators:`"])


def _field(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(spec)"


def parse(path: Path, nodes: set[str]) -> list[Entry]:
    """Every entry of the file validated, or SpecFileError listing every problem."""
    raw, default_scope = _entries(path)
    problems: list[str] = []
    entries: list[Entry] = []
    seen: set[str] = set()
    for n, item in enumerate(raw):
        code = item.get("code") if isinstance(item, dict) else None
        where = f"{path}: indicator {code if isinstance(code, str) else f'#{n + 1}'}"
        if not isinstance(item, dict):
            problems.append(f"{where}: (spec): expected a mapping")
            continue
        body = dict(item)
        scope = str(body.pop("scope", default_scope))
        if scope not in nodes:
            problems.append(f"{where}: scope: {scope!r} is not a node of the org tree")
        try:
            spec = IndicatorSpec.model_validate(body)
        except ValidationError as exc:
            problems += [f"{where}: {_field(e['loc'])}: {e['msg']}" for e in exc.errors()]
            continue
        problem = code_problem(spec.code, scope) if scope in nodes else None
        if spec.code in BY_CODE:
            problems.append(f"{where}: code: {spec.code!r} is a built-in indicator")
        elif problem is not None:
            problems.append(f"{where}: code: {problem}")
        elif spec.code in seen:
            problems.append(f"{where}: code: {spec.code!r} appears twice in the file")
        seen.add(spec.code)
        entries.append(Entry(spec, scope))
    if problems:
        raise SpecFileError(problems)
    return entries


def apply_file(conn: Connection, path: Path, created_by: str) -> list[Applied]:
    """Validate the whole file, then upsert each spec by code (in the caller's transaction)."""
    nodes = set(conn.execute(text("SELECT node_id FROM org_node")).scalars())
    return [apply_spec(conn, e.spec, e.scope, created_by) for e in parse(path, nodes)]
