from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from pgtest import PgServer
from quaywatch.db import make_engine, probe_capabilities
from quaywatch.migrations import SQL_DIR, MigrationError, upgrade
from quaywatch.settings import Settings


@pytest.fixture
def empty_engine(pg_server: PgServer):
    name = pg_server.create_database()
    url = pg_server.url(name).replace("postgresql://", "postgresql+psycopg://", 1)
    engine = make_engine(Settings(database_url=url))
    yield engine
    engine.dispose()
    pg_server.drop_database(name)


def test_migrations_apply_to_an_empty_database_and_are_a_noop_the_second_time(empty_engine):
    first = upgrade(empty_engine)
    assert first == sorted(p.name for p in SQL_DIR.glob("*.sql"))
    assert upgrade(empty_engine) == []
    with empty_engine.connect() as conn:
        hypertables = set(
            conn.execute(
                text("SELECT hypertable_name FROM timescaledb_information.hypertables")
            ).scalars()
        )
    assert {"cargo_event", "metric_point", "metric_hourly"} <= hypertables


def test_a_changed_shipped_migration_is_an_error(empty_engine, tmp_path: Path):
    for path in SQL_DIR.glob("*.sql"):
        (tmp_path / path.name).write_text(path.read_text())
    upgrade(empty_engine, tmp_path)
    first = sorted(tmp_path.glob("*.sql"))[-1]
    first.write_text(first.read_text() + "\n-- edited\n")
    with pytest.raises(MigrationError, match="was changed after it was applied"):
        upgrade(empty_engine, tmp_path)


def test_a_badly_named_migration_is_refused(empty_engine, tmp_path: Path):
    (tmp_path / "create things.sql").write_text("SELECT 1")
    with pytest.raises(MigrationError, match="NNNN_words.sql"):
        upgrade(empty_engine, tmp_path)


def test_the_licence_of_the_local_build_is_detected(empty_engine):
    upgrade(empty_engine)
    with empty_engine.connect() as conn:
        caps = probe_capabilities(conn)
    assert caps.license in ("apache", "timescale")
    assert caps.version
