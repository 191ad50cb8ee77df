from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from pgtest import PgServer
from quaywatch.db import make_engine
from quaywatch.security.secret_box import generate_key
from quaywatch.settings import Secret, Settings
from quaywatch.web import create_app

# Channel secrets are encrypted at rest (quaywatch/security/secret_box.py): one key for the session, in
# the environment too, so subprocesses (a dispatcher, the service) open what tests sealed.
SECRET_KEYS = os.environ.setdefault("QUAYWATCH_SECRET_KEYS", generate_key())


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server_url = os.environ.get("DATABASE_URL")
    if server_url:
        server = PgServer(server_url.replace("+psycopg", "").rsplit("/", 1)[0] + "/postgres")
    else:
        server = PgServer.start_private()
    yield server
    server.close()


@pytest.fixture(scope="session")
def template_db(pg_server: PgServer) -> str:
    """A migrated, seeded database that each test's database is cloned from."""
    from collector.metrics import ensure_series, seed_indicators
    from collector.org_hierarchy import seed_org_tree
    from quaywatch.migrations import upgrade

    name = pg_server.create_database()
    engine = make_engine(Settings(database_url=_sa(pg_server.url(name))), poolclass=_null_pool())
    upgrade(engine)
    with engine.begin() as conn:
        seed_org_tree(conn)
        seed_indicators(conn)
        ensure_series(conn)
        # On a borrowed server, stop TimescaleDB's scheduler for the template (see pgtest).
        conn.exec_driver_sql("SELECT timescaledb_pre_restore()")
    engine.dispose()
    return name


def _sa(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _null_pool() -> Any:
    from sqlalchemy.pool import NullPool

    return NullPool


@pytest.fixture
def db_url(pg_server: PgServer, template_db: str) -> Iterator[str]:
    """A fresh migrated and seeded database for one test."""
    name = pg_server.create_database(template=template_db)
    yield _sa(pg_server.url(name))
    pg_server.drop_database(name)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, allow_private_urls=True, secret_keys=Secret(SECRET_KEYS))


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture
def app(settings: Settings, engine: Engine) -> Flask:
    app = create_app(settings, engine)
    app.testing = True
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def make_token(engine: Engine, role: str = "admin", node_id: str = "CN") -> str:
    from quaywatch.security.auth import issue_token

    with engine.begin() as conn:
        return issue_token(conn, f"test {role}@{node_id}", role, node_id).token


@pytest.fixture
def admin_token(engine: Engine) -> str:
    return make_token(engine)


@pytest.fixture
def auth(admin_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token}"}
