"""Import CSV or NDJSON files, streaming; writes only through the kind's store function.

Lines are read one at a time (CSV header names are field names, empty cells are absent), decoded
strictly (quaywatch.http.request_body.loads; bytes that are not UTF-8 are that line's error), parsed
and stored in batches through the kind's parser and store (collector.intake.contract), the same
ingest path as pushes. A bad line is reported with its line number and never costs the good ones.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Generic

from sqlalchemy import Engine
from tqdm import tqdm

from collector.events import FieldError, TimePolicy
from collector.intake.contract import Context, ItemKind, Parser, RowT, item_errors
from collector.store import known_sites
from quaywatch.db import raw_connection
from quaywatch.http.request_body import BodyError, loads
from quaywatch.settings import Settings

_UNDECODED = re.compile("[\udc80-\udcff]")  # what surrogateescape makes of bad bytes
MAX_REPORTED = 1000


@dataclass
class ImportSummary:
    lines: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return (
            f"{self.lines:,} lines: {self.stored:,} events stored, {self.duplicates:,} "
            f"duplicates skipped, {self.rejected:,} lines rejected"
        )


def _detect(path: Path, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    if path.suffix.lower() in (".csv", ".tsv"):
        return "csv"
    return "ndjson"


class _Lines:
    """Decoded lines of a binary file, counting the bytes read for the progress bar."""

    def __init__(self, handle: io.BufferedReader) -> None:
        self.handle = handle
        self.bytes_read = 0

    def __iter__(self) -> Iterator[str]:
        for raw in self.handle:
            self.bytes_read += len(raw)
            # Bytes that are not UTF-8 become lone surrogates here, so the line that holds them
            # is refused as that line's error (never replaced, never the whole file's failure).
            codec = "utf-8-sig" if self.bytes_read == len(raw) else "utf-8"
            yield raw.decode(codec, errors="surrogateescape")


def _not_utf8(text: str) -> bool:
    return _UNDECODED.search(text) is not None


def _csv_items(lines: _Lines) -> Iterator[tuple[int, Any]]:
    reader = csv.DictReader(lines)
    for row in reader:
        if any(_not_utf8(v) for v in row.values() if isinstance(v, str)):
            yield reader.line_num, FieldError(reader.line_num, "line", "not valid UTF-8")
            continue
        # Empty cells mean "not stated", as an absent JSON key does.
        yield reader.line_num, {k: v for k, v in row.items() if k and v not in ("", None)}


def _ndjson_items(lines: _Lines) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if _not_utf8(line):
            yield number, FieldError(number, "line", "not valid UTF-8")
            continue
        try:
            yield number, loads(line)
        except BodyError as exc:
            yield number, FieldError(number, "line", f"invalid JSON: {exc}")


@dataclass(frozen=True)
class _Batches:
    """What every batch of one import shares."""

    engine: Engine
    kind: ItemKind[Any]
    parse: Parser[Any]
    policy: TimePolicy
    sites: set[str]
    summary: ImportSummary
    echo: Callable[[str], None]


@dataclass(frozen=True)
class FileImporter(Generic[RowT]):
    """Imports files of one kind of item: `importer(engine, settings, path)`."""

    kind: ItemKind[RowT]

    def __call__(
        self,
        engine: Engine,
        settings: Settings,
        path: Path,
        fmt: str = "auto",
        batch: int = 5000,
        echo: Callable[[str], None] = print,
    ) -> ImportSummary:
        """Import every line of `path` (CSV or NDJSON, by suffix unless `fmt` says), `batch`
        lines per transaction; echo each bad line (the first MAX_REPORTED); return the summary."""
        policy = TimePolicy(timedelta(seconds=settings.max_clock_skew_s), settings.naive_timezone)
        parse = self.kind.load_parser(engine)
        with raw_connection(engine) as conn:
            sites = known_sites(conn)
        batches = _Batches(engine, self.kind, parse, policy, sites, ImportSummary(), echo)
        with (
            path.open("rb") as handle,
            tqdm(
                total=path.stat().st_size, unit="B", unit_scale=True, desc=path.name, disable=None
            ) as bar,
        ):
            lines = _Lines(handle)
            items = _csv_items(lines) if _detect(path, fmt) == "csv" else _ndjson_items(lines)
            chunk: list[tuple[int, Any]] = []
            for number, item in items:
                chunk.append((number, item))
                if len(chunk) >= batch:
                    _flush(batches, chunk)
                    bar.update(lines.bytes_read - bar.n)
                    chunk = []
            _flush(batches, chunk)
            bar.update(lines.bytes_read - bar.n)
        return batches.summary


def _flush(batches: _Batches, chunk: list[tuple[int, Any]]) -> None:
    if not chunk:
        return
    summary = batches.summary
    summary.lines += len(chunk)
    decoded = [(n, i) for n, i in chunk if not isinstance(i, FieldError)]
    errors = [i for _, i in chunk if isinstance(i, FieldError)]
    context = Context(batches.policy, batches.sites, datetime.now(UTC), "file")
    parsed = batches.parse([i for _, i in decoded], context)
    with raw_connection(batches.engine) as conn:
        stored = batches.kind.store(conn, parsed.values())
    errors += [
        FieldError(decoded[e.index][0], e.field, e.reason) for e in item_errors(parsed, stored)
    ]
    summary.stored += stored.new + stored.amended
    summary.duplicates += stored.duplicates
    summary.rejected += len(errors)
    for error in sorted(errors, key=lambda e: e.index):
        if len(summary.errors) < MAX_REPORTED:
            line = f"line {error.index}: {error.field}: {error.reason}"
            summary.errors.append(line)
            batches.echo(line)
