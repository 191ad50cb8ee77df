"""Database wiring: one SQLAlchemy engine over psycopg 3, and the TimescaleDB capability probe.

No domain SQL lives here; each package owns its tables' reads and writes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import Engine, create_engine, exc, text
from sqlalchemy.engine import Connection

from quaywatch.settings import Settings


def make_engine(settings: Settings, **kwargs: Any) -> Engine:
    """An engine with a small pool; pool_pre_ping turns a restarted server into a fresh connection."""
    options: dict[str, Any] = {"pool_pre_ping": True}
    # Readers of sealed channel secrets open them with the keys of the engine's settings.
    options["execution_options"] = {"quaywatch_secret_keys": settings.secret_keys}
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


def is_unavailable(error: BaseException) -> bool:
    """The database could not be reached or went away (down, restarting, network), as opposed
    to a query that failed on its own merits."""
    if isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
        return True
    if isinstance(error, exc.OperationalError | exc.InterfaceError | exc.PendingRollbackError):
        return True
    return isinstance(error, exc.DBAPIError) and error.connection_invalidated


class Outage:
    """One line when the database becomes unavailable and one when it is back, however many
    steps fail in between (a traceback per step per second would bury everything else)."""

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._lock = threading.Lock()
        self.down = False

    def failed(self, what: str, error: BaseException) -> bool:
        """Record a failure of `what`; True when it was the database being unavailable."""
        if not is_unavailable(error):
            return False
        with self._lock:
            if not self.down:
                self.down = True
                self._log.warning(
                    "database unavailable (%s, seen by %s); every role keeps running and"
                    " resumes by itself when it is back",
                    type(error).__name__,
                    what,
                )
        return True

    def ok(self) -> None:
        with self._lock:
            if self.down:
                self.down = False
                self._log.info("database available again; scheduled steps resume")
