from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from sqlalchemy.pool import NullPool

from pgtest import PgServer
from quaywatch.db import make_engine
from quaywatch.settings import Settings
from tests.grafana.filled_db import fill

READER = "quaywatch_grafana"


@pytest.fixture(scope="module")
def filled_db(pg_server: PgServer, template_db: str) -> Iterator[tuple[str, datetime]]:
    """(database name, the 'now' it was filled up to), built once per test module."""
    name = pg_server.create_database(template=template_db)
    url = pg_server.url(name).replace("postgresql://", "postgresql+psycopg://", 1)
    engine = make_engine(Settings(database_url=url), poolclass=NullPool)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    try:
        fill(engine, now)
    finally:
        engine.dispose()
    yield name, now
    pg_server.drop_database(name)


def reader_url(pg_server: PgServer, database: str) -> str:
    return pg_server.url(database).replace("://postgres@", f"://{READER}@", 1)


@contextmanager
def reader_connection(pg_server: PgServer, database: str) -> Iterator[Any]:
    """A connection as the read-only role, as Grafana makes it (trust auth on the test
    cluster). On a borrowed server that wants a password, the admin takes on the role and its
    settings instead, which checks the same privileges."""
    try:
        conn = psycopg.connect(reader_url(pg_server, database), autocommit=True)
    except psycopg.OperationalError:
        conn = psycopg.connect(pg_server.url(database), autocommit=True)
        conn.execute(f"SET ROLE {READER}")
        conn.execute("SET default_transaction_read_only = on")
        conn.execute("SET statement_timeout = '10s'")
        conn.execute("SET jit = off")
        conn.execute("SET max_parallel_workers_per_gather = 0")
    with conn:
        yield conn


@pytest.fixture
def reader(pg_server: PgServer, filled_db: tuple[str, datetime]) -> Iterator[Any]:
    with reader_connection(pg_server, filled_db[0]) as conn:
        yield conn
