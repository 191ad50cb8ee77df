"""Database wiring: one SQLAlchemy engine over psycopg 3, and the TimescaleDB capability probe.

No domain SQL lives here; each package owns its tables' reads and writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import Connection

from quaywatch.settings import Settings


def make_engine(settings: Settings, **kwargs: Any) -> Engine:
    """An engine with a small pool; pool_pre_ping turns a restarted server into a fresh connection."""
    options: dict[str, Any] = {"pool_pre_ping": True}
    if "poolclass" not in kwargs:
        options.update(pool_size=5, max_overflow=10)
    options.update(kwargs)
    return create_engine(settings.database_url, **options)


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """A connection inside one transaction: committed on success, rolled back on any error."""
    with engine.begin() as conn:
        yield conn


@contextmanager
def raw_connection(engine: Engine) -> Iterator[psycopg.Connection[Any]]:
    """The pooled psycopg connection itself, for COPY; committed on success, rolled back on error."""
    pooled = engine.raw_connection()
    try:
        driver = pooled.driver_connection
        assert isinstance(driver, psycopg.Connection)
        try:
            yield driver
            driver.commit()
        except BaseException:
            driver.rollback()
            raise
    finally:
        pooled.close()


@dataclass(frozen=True)
class Capabilities:
    """What the connected TimescaleDB can do; the Apache build lacks the TSL features."""

    license: str | None
    version: str | None

    @property
    def community(self) -> bool:
        return self.license == "timescale"


def probe_capabilities(conn: Connection) -> Capabilities:
    row = conn.execute(
        text(
            "SELECT current_setting('timescaledb.license', true),"
            " (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb')"
        )
    ).one()
    return Capabilities(license=row[0], version=row[1])


def try_advisory_lock(conn: Connection, name: str) -> bool:
    """Take a transaction-scoped advisory lock so one replica runs a periodic step at a time."""
    return bool(
        conn.execute(text("SELECT pg_try_advisory_xact_lock(hashtext(:n))"), {"n": name}).scalar()
    )
