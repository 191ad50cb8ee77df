from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from pgtest import PgServer
from quaywatch.db import make_engine, probe_capabilities
from quaywatch.migrations import SQL_DIR, MigrationError, read_baseline, upgrade
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


def _record(engine, checksums: dict[str, str]) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE schema_migrations (name text PRIMARY KEY, checksum text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
        )
        for name, checksum in checksums.items():
            conn.execute(
                text("INSERT INTO schema_migrations (name, checksum) VALUES (:n, :c)"),
                {"n": name, "c": checksum},
            )


def _recorded(engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT name FROM schema_migrations")).scalars())


def baseline_only(tmp_path: Path) -> Path:
    """The baseline's files without the migrations after it, which would need its tables."""
    for name in ("baseline.toml", *read_baseline(SQL_DIR).files):  # type: ignore[union-attr]
        shutil.copy(SQL_DIR / name, tmp_path / name)
    return tmp_path


def test_a_database_that_applied_every_replaced_migration_takes_the_baseline_without_running_it(
    empty_engine, tmp_path: Path
):
    baseline = read_baseline(SQL_DIR)
    assert baseline is not None
    _record(empty_engine, baseline.replaces)
    assert upgrade(empty_engine, baseline_only(tmp_path)) == []
    assert _recorded(empty_engine) == set(baseline.replaces) | set(baseline.files)
    with empty_engine.connect() as conn:
        # Not run: the baseline would have created the org tree.
        assert conn.execute(text("SELECT to_regclass('org_node')")).scalar() is None
    assert upgrade(empty_engine, tmp_path) == []


def test_a_fresh_database_applies_the_baseline_files_then_the_migrations_after_them(empty_engine):
    baseline = read_baseline(SQL_DIR)
    assert baseline is not None
    later = sorted(p.name for p in SQL_DIR.glob("*.sql") if p.name > baseline.files[-1])
    assert later and later[0].startswith("0107_")  # numbered on from the baseline
    assert upgrade(empty_engine) == [*baseline.files, *later]
    assert not set(baseline.replaces) & _recorded(empty_engine)


def test_a_database_that_stopped_partway_through_the_replaced_migrations_is_refused(empty_engine):
    baseline = read_baseline(SQL_DIR)
    assert baseline is not None
    names = sorted(baseline.replaces)
    _record(empty_engine, {name: baseline.replaces[name] for name in names[:5]})
    with pytest.raises(MigrationError, match=f"applied {names[4]} but not {names[5]} and"):
        upgrade(empty_engine)
    assert _recorded(empty_engine) == set(names[:5])


def test_a_replaced_migration_applied_with_another_checksum_is_refused(empty_engine):
    baseline = read_baseline(SQL_DIR)
    assert baseline is not None
    checksums = dict(baseline.replaces)
    edited = sorted(checksums)[3]
    checksums[edited] = "0" * 64
    _record(empty_engine, checksums)
    with pytest.raises(MigrationError, match=f"{edited} was applied with another checksum"):
        upgrade(empty_engine)


def test_a_baseline_that_names_a_missing_file_is_refused(empty_engine, tmp_path: Path):
    (tmp_path / "0100_things.sql").write_text("SELECT 1")
    (tmp_path / "baseline.toml").write_text(
        'files = ["0100_things.sql", "0101_gone.sql"]\n[replaces]\n"0001_old.sql" = "ab"\n'
    )
    with pytest.raises(MigrationError, match="0101_gone.sql"):
        upgrade(empty_engine, tmp_path)


def test_a_baseline_without_its_replaced_list_is_refused(empty_engine, tmp_path: Path):
    (tmp_path / "0100_things.sql").write_text("SELECT 1")
    (tmp_path / "baseline.toml").write_text('files = ["0100_things.sql"]\n')
    with pytest.raises(MigrationError, match=r"needs files = \[...\] and \[replaces\]"):
        upgrade(empty_engine, tmp_path)
