"""Import declarations from CSV or NDJSON files, streaming in constant memory.

The same reader as the cargo-event import (collector.file_import: one line at a time, CSV
header names = field names, empty cells = absent), the same validation as the API, and the same
ingest path, so imported declarations are screened as they are stored. A bad line is reported
with its line number and never costs the good ones.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from tqdm import tqdm

from collector.events import FieldError, TimePolicy
from collector.file_import import (
    MAX_REPORTED,
    ImportSummary,
    _csv_items,
    _detect,
    _Lines,
    _ndjson_items,
)
from collector.risk.declarations import load_rates, parse_indexed
from collector.risk.store import save_declarations
from collector.store import known_sites
from quaywatch.db import raw_connection
from quaywatch.settings import Settings


def import_declarations(
    engine: Engine,
    settings: Settings,
    path: Path,
    fmt: str = "auto",
    batch: int = 5000,
    echo: Callable[[str], None] = print,
) -> ImportSummary:
    summary = ImportSummary()
    policy = TimePolicy(timedelta(seconds=settings.max_clock_skew_s), settings.naive_timezone)
    with engine.connect() as conn:
        rates = load_rates(conn)
    with raw_connection(engine) as raw:
        sites = known_sites(raw)
    kind = _detect(path, fmt)
    with (
        path.open("rb") as handle,
        tqdm(
            total=path.stat().st_size, unit="B", unit_scale=True, desc=path.name, disable=None
        ) as bar,
    ):
        lines = _Lines(handle)
        items = _csv_items(lines) if kind == "csv" else _ndjson_items(lines)
        chunk: list[tuple[int, Any]] = []
        for number, item in items:
            chunk.append((number, item))
            if len(chunk) >= batch:
                _flush(engine, chunk, policy, rates, sites, summary, echo)
                bar.update(lines.bytes_read - bar.n)
                chunk = []
        _flush(engine, chunk, policy, rates, sites, summary, echo)
        bar.update(lines.bytes_read - bar.n)
    return summary


def _flush(
    engine: Engine,
    chunk: list[tuple[int, Any]],
    policy: TimePolicy,
    rates: dict[str, float],
    sites: set[str],
    summary: ImportSummary,
    echo: Callable[[str], None],
) -> None:
    if not chunk:
        return
    summary.lines += len(chunk)
    decoded = [(n, i) for n, i in chunk if not isinstance(i, FieldError)]
    errors = [i for _, i in chunk if isinstance(i, FieldError)]
    valid, invalid = parse_indexed([i for _, i in decoded], policy, rates, sites)
    errors += [FieldError(decoded[e.index][0], e.field, e.reason) for e in invalid]
    received = datetime.now(UTC)
    with raw_connection(engine) as conn:
        result = save_declarations(conn, [d.as_row("file", received) for _, d in valid])
    errors += [
        FieldError(decoded[valid[r.position][0]][0], r.field, r.reason) for r in result.rejected
    ]
    summary.stored += result.stored + result.amended
    summary.duplicates += result.duplicates
    summary.rejected += len(errors)
    for error in sorted(errors, key=lambda e: e.index):
        if len(summary.errors) < MAX_REPORTED:
            line = f"line {error.index}: {error.field}: {error.reason}"
            summary.errors.append(line)
            echo(line)
