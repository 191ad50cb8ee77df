"""Apply the ordered SQL migrations in sql/, each once, recorded with its checksum.

A shipped migration must never change: a checksum that differs from the recorded one is an error,
not a silent re-run. Files in sql/community/ apply only where TimescaleDB has the Community
licence (continuous aggregates, compression and retention policies); the Apache build runs the
same work from the scheduler instead.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text

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


def upgrade(engine: Engine, directory: Path = SQL_DIR) -> list[str]:
    """Apply pending migrations in order; return the names applied (empty when up to date)."""
    applied_now: list[str] = []
    with engine.begin() as conn:
        # Replicas starting together must not both apply 0001.
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
