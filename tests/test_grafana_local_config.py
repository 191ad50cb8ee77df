from __future__ import annotations

import configparser
import stat
from pathlib import Path

import psycopg
import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.engine import make_url

from grafana.local_config import DASHBOARDS, register
from tests.command_line import quaywatch_runner


@pytest.fixture
def written(settings, monkeypatch, tmp_path) -> Path:
    run = quaywatch_runner(settings, monkeypatch, register)
    home = tmp_path / "grafana"
    result = run("grafana", "local-config", str(home), "--port", "3123")
    assert result.exit_code == 0, result.output
    return home


def _datasource(home: Path) -> dict:
    doc = yaml.safe_load((home / "provisioning/datasources/quaywatch.yaml").read_text())
    return doc["datasources"][0]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_datasource_points_at_the_configured_database_as_the_reader(written, settings):
    url = make_url(settings.database_url)
    source = _datasource(written)
    assert source["url"] == f"{url.host}:{url.port}"
    assert source["jsonData"]["database"] == url.database
    assert source["user"] == "quaywatch_grafana"
    assert source["secureJsonData"]["password"] == (written / "reader-password").read_text().strip()
    assert source["type"] == "grafana-postgresql-datasource"


def test_files_holding_secrets_are_readable_by_their_owner_only(written):
    for name in (
        "grafana.ini",
        "provisioning/datasources/quaywatch.yaml",
        "reader-password",
        "admin-password",
    ):
        assert _mode(written / name) == 0o600, name


def test_the_dashboards_come_from_the_checkout_and_the_ini_names_the_paths(written):
    provider = yaml.safe_load((written / "provisioning/dashboards/quaywatch.yaml").read_text())
    path = Path(provider["providers"][0]["options"]["path"])
    assert path == DASHBOARDS and any(path.glob("*.json"))
    ini = configparser.ConfigParser()
    ini.read(written / "grafana.ini")
    assert ini["paths"]["provisioning"] == str(written.resolve() / "provisioning")
    assert ini["server"]["http_port"] == "3123"
    assert ini["server"]["http_addr"] == "127.0.0.1"


def test_a_second_run_keeps_the_passwords(settings, monkeypatch, written):
    before = (written / "reader-password").read_text()
    run = quaywatch_runner(settings, monkeypatch, register)
    assert run("grafana", "local-config", str(written)).exit_code == 0
    assert (written / "reader-password").read_text() == before


def test_the_role_gets_a_hashed_password(written, engine):
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT rolpassword FROM pg_authid WHERE rolname = 'quaywatch_grafana'")
        ).scalar()
    assert stored.startswith("SCRAM-SHA-256$")
    assert (written / "reader-password").read_text().strip() not in stored


def _reader(home: Path) -> psycopg.Connection:
    source = _datasource(home)
    host, port = source["url"].rsplit(":", 1)
    return psycopg.connect(
        host=host,
        port=int(port),
        dbname=source["jsonData"]["database"],
        user=source["user"],
        password=source["secureJsonData"]["password"],
        autocommit=True,
    )


def test_its_credentials_read_what_panels_read(written):
    with _reader(written) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("quaywatch_grafana",)
        assert conn.execute("SELECT count(*) FROM reporting.site").fetchone()[0] > 0
        conn.execute("SELECT * FROM reporting.site_status LIMIT 1")


def test_its_credentials_cannot_write(written):
    with _reader(written) as conn, pytest.raises(psycopg.errors.Error):
        conn.execute("INSERT INTO org_node (node_id, level, name) VALUES ('X', 'site', 'x')")
    with _reader(written) as conn, pytest.raises(psycopg.errors.Error):
        conn.execute("SELECT count(*) FROM cargo_event")
