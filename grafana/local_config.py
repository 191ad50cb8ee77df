"""Writes a local Grafana's configuration (grafana.ini, provisioning/) and the reader's password.

`quaywatch grafana local-config DIR` makes DIR a ready Grafana home for the checkout: the data
source is the database QuayWatch is configured with, read as `quaywatch_grafana` (sql/0106), and
the dashboards are read straight from grafana/dashboards/, so `make dashboards` shows at once.
The migration creates that role without a password; this command gives it one (kept in
DIR/reader-password, the same at every run) as compose.yaml's grafana-db-init does there.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import yaml
from psycopg import sql
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from quaywatch.cli import Context, pass_context
from quaywatch.db import raw_connection

READER = "quaywatch_grafana"
HERE = Path(__file__).resolve().parent
DASHBOARDS = HERE / "dashboards"
# The compose provisioning is the template: one place says how Grafana reads QuayWatch.
DATASOURCE_TEMPLATE = HERE / "provisioning" / "datasources" / "quaywatch.yaml"
PROVIDER_TEMPLATE = HERE / "provisioning" / "dashboards" / "quaywatch.yaml"


@dataclass(frozen=True)
class LocalConfig:
    ini: Path
    datasource: Path
    provider: Path
    url: str


def write_secret(path: Path, text: str) -> None:
    """Write `text` to `path`, readable by its owner only, from the first byte on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)  # an existing file keeps its mode through O_CREAT


def kept_secret(path: Path) -> str:
    """The secret stored in `path`, made on first use."""
    if path.is_file() and path.read_text(encoding="utf-8").strip():
        return path.read_text(encoding="utf-8").strip()
    value = secrets.token_urlsafe(24)
    write_secret(path, value + "\n")
    return value


def set_reader_password(engine: Engine, password: str) -> None:
    """Give the reader role its password, hashed here (as psql's \\password does) so that the
    clear text never reaches the server's statement log."""
    with raw_connection(engine) as conn:
        verifier = conn.pgconn.encrypt_password(
            password.encode(), READER.encode(), b"scram-sha-256"
        )
        conn.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(READER), sql.Literal(verifier.decode())
            )
        )


def datasource_yaml(database_url: str, password: str) -> dict[str, Any]:
    url = make_url(database_url)
    doc: dict[str, Any] = yaml.safe_load(DATASOURCE_TEMPLATE.read_text(encoding="utf-8"))
    source = doc["datasources"][0]
    source["url"] = f"{url.host or '127.0.0.1'}:{url.port or 5432}"
    source["user"] = READER
    source["jsonData"]["database"] = url.database
    source["secureJsonData"] = {"password": password}
    return doc


def provider_yaml() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(PROVIDER_TEMPLATE.read_text(encoding="utf-8"))
    doc["providers"][0]["options"]["path"] = str(DASHBOARDS)
    return doc


def grafana_ini(home: Path, port: int, admin_password: str) -> str:
    return f"""\
; Written by `quaywatch grafana local-config`: a Grafana for this checkout only.
[paths]
data = {home / "data"}
logs = {home / "logs"}
plugins = {home / "plugins"}
provisioning = {home / "provisioning"}

[server]
http_addr = 127.0.0.1
http_port = {port}

[security]
admin_user = admin
admin_password = {admin_password}

[users]
allow_sign_up = false

[analytics]
reporting_enabled = false
check_for_updates = false

[dashboards]
default_home_dashboard_path = {DASHBOARDS / "national.json"}
"""


def write_local_config(
    home: Path, database_url: str, reader_password: str, port: int = 3000
) -> LocalConfig:
    """Write grafana.ini and provisioning/ under `home`; the files holding secrets are 0600."""
    home = home.resolve()
    for sub in ("data", "logs", "plugins", "provisioning/datasources", "provisioning/dashboards"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    admin_password = kept_secret(home / "admin-password")
    ini = home / "grafana.ini"
    write_secret(ini, grafana_ini(home, port, admin_password))
    datasource = home / "provisioning" / "datasources" / "quaywatch.yaml"
    write_secret(datasource, yaml.safe_dump(datasource_yaml(database_url, reader_password)))
    provider = home / "provisioning" / "dashboards" / "quaywatch.yaml"
    provider.write_text(yaml.safe_dump(provider_yaml()), encoding="utf-8")
    return LocalConfig(ini, datasource, provider, f"http://127.0.0.1:{port}")


@click.group("grafana")
def grafana() -> None:
    """A local Grafana for the dashboards."""


@grafana.command("local-config")
@click.argument("home", type=click.Path(file_okay=False, path_type=Path))
@click.option("--port", default=3000, show_default=True, help="Grafana's HTTP port.")
@pass_context
def local_config(ctx: Context, home: Path, port: int) -> None:
    """Write a Grafana configuration into HOME reading this database as the reader role."""
    password = kept_secret(home / "reader-password")
    set_reader_password(ctx.engine, password)
    config = write_local_config(home, ctx.settings.database_url, password, port)
    click.echo(f"grafana config in {config.ini.parent} (admin password in admin-password)")
    click.echo(f"start: grafana server --config {config.ini} --homepath <grafana share dir>")


def register(cli: click.Group) -> None:
    cli.add_command(grafana)
