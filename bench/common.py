"""A private TimescaleDB for benchmarks, with production settings (fsync on), and helpers."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from collector.metrics import ensure_series, seed_indicators  # noqa: E402
from collector.org_hierarchy import seed_org_tree  # noqa: E402
from pgtest import PgServer  # noqa: E402
from quaywatch.db import make_engine  # noqa: E402
from quaywatch.migrations import upgrade  # noqa: E402
from quaywatch.security.secret_box import generate_key  # noqa: E402
from quaywatch.settings import Secret, Settings  # noqa: E402

# Channel secrets are sealed at rest (quaywatch/security/secret_box.py): one key for a benchmark run.
BENCH_KEYS = Secret(generate_key())
# Benchmarks measure a durable server: fsync and synchronous commit stay on.
BENCH_OPTIONS = "-c timescaledb.max_background_workers=0 -c max_wal_size=4GB"


@contextmanager
def bench_server() -> Iterator[PgServer]:
    server = PgServer.start_private(BENCH_OPTIONS)
    try:
        yield server
    finally:
        server.close()


def sa_url(server: PgServer, name: str) -> str:
    return server.url(name).replace("postgresql://", "postgresql+psycopg://", 1)


def seeded_database(server: PgServer, template: str | None = None) -> tuple[str, Engine]:
    """A migrated and seeded database (cloned from `template` when given)."""
    name = server.create_database(template)
    engine = make_engine(Settings(database_url=sa_url(server, name), secret_keys=BENCH_KEYS))
    if template is None:
        upgrade(engine)
        with engine.begin() as conn:
            seed_org_tree(conn)
            seed_indicators(conn)
            ensure_series(conn)
    return name, engine


def template_database(server: PgServer) -> str:
    name, engine = seeded_database(server)
    engine.dispose()
    return name


def null_engine(server: PgServer, name: str) -> Engine:
    return make_engine(
        Settings(database_url=sa_url(server, name), secret_keys=BENCH_KEYS), poolclass=NullPool
    )


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def median(values: list[float]) -> float:
    return statistics.median(values)
