"""Apply the ordered SQL migrations in sql/, each once, recorded with its checksum.

A shipped migration must never change: a checksum that differs from the recorded one is an error,
not a silent re-run. Files in sql/community/ apply only where TimescaleDB has the Community
licence (continuous aggregates, compression and retention policies); the Apache build runs the
same work from the scheduler instead.

sql/baseline.toml names a baseline: migrations that hold the schema which earlier migrations
built step by step. A database that applied all of those earlier ones, unchanged, is already at
the baseline: its files are recorded as applied without running.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from quaywatch.db import probe_capabilities

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class MigrationError(RuntimeError):
    """A migration file is malformed, failed, or differs from the one already applied."""


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


def discover(directory: Path, prefix: str = "") -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        if not _NAME.match(path.name):
            raise MigrationError(f"{path.name}: migration names are NNNN_words.sql")
        found.append(Migration(prefix + path.name, path.read_text(encoding="utf-8")))
    return found


@dataclass(frozen=True)
class Baseline:
    files: tuple[str, ...]
    replaces: dict[str, str]  # earlier migration name: its checksum


def read_baseline(directory: Path) -> Baseline | None:
    path = directory / "baseline.toml"
    if not path.is_file():
        return None
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        baseline = Baseline(tuple(doc["files"]), dict(doc["replaces"]))
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise MigrationError(f"{path.name}: needs files = [...] and [replaces]: {exc}") from exc
    missing = [name for name in baseline.files if not (directory / name).is_file()]
    if missing:
        raise MigrationError(f"{path.name} names files that are not there: {', '.join(missing)}")
    return baseline


def adopt_baseline(
    conn: Connection, baseline: Baseline, recorded: dict[str, str], migrations: list[Migration]
) -> None:
    """Record the baseline's files as applied when the database applied what they replace."""
    folded = {name: recorded[name] for name in baseline.replaces if name in recorded}
    if not folded or all(name in recorded for name in baseline.files):
        return
    missing = sorted(set(baseline.replaces) - set(folded))
    if missing:
        raise MigrationError(
            f"this database applied {max(folded)} but not {missing[0]}"
            f"{f' and {len(missing) - 1} more' if len(missing) > 1 else ''}: the baseline "
            f"{baseline.files[0]}..{baseline.files[-1]} can only take over a database that "
            "applied every migration it replaces; upgrade it first with a release that still "
            "ships them"
        )
    changed = sorted(
        name for name, checksum in folded.items() if checksum != baseline.replaces[name]
    )
    if changed:
        raise MigrationError(
            f"{changed[0]} was applied with another checksum than the one the baseline "
            "replaces, so this database may not have the baseline's schema"
        )
    checksums = {m.name: m.checksum for m in migrations}
    for name in baseline.files:
        conn.execute(
            text(
                "INSERT INTO schema_migrations (name, checksum) VALUES (:n, :c)"
                " ON CONFLICT (name) DO NOTHING"
            ),
            {"n": name, "c": checksums[name]},
        )
        recorded[name] = checksums[name]


def upgrade(engine: Engine, directory: Path = SQL_DIR) -> list[str]:
    """Apply pending migrations in order; return the names applied (empty when up to date)."""
    applied_now: list[str] = []
    with engine.begin() as conn:
        # Replicas starting together must not both apply the first migration.
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('quaywatch.migrations'))"))
        conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name text PRIMARY KEY, checksum text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
        )
        recorded: dict[str, str] = dict(
            conn.execute(text("SELECT name, checksum FROM schema_migrations")).all()
        )
        migrations = discover(directory)
        if probe_capabilities(conn).community and (directory / "community").is_dir():
            migrations += discover(directory / "community", prefix="community/")
        baseline = read_baseline(directory)
        if baseline is not None:
            adopt_baseline(conn, baseline, recorded, migrations)
        for migration in migrations:
            if migration.name in recorded:
                if recorded[migration.name] != migration.checksum:
                    raise MigrationError(
                        f"{migration.name} was changed after it was applied; "
                        "add a new migration instead of editing a shipped one"
                    )
                continue
            try:
                # Straight to the driver without parameters, so a literal % (format('%I'))
                # in a migration is not taken for a placeholder.
                with conn.connection.dbapi_connection.cursor() as cursor:  # type: ignore[union-attr]
                    cursor.execute(migration.sql)
            except Exception as exc:
                raise MigrationError(f"{migration.name} failed: {exc}") from exc
            conn.execute(
                text("INSERT INTO schema_migrations (name, checksum) VALUES (:n, :c)"),
                {"n": migration.name, "c": migration.checksum},
            )
            applied_now.append(migration.name)
    return applied_now
