"""A private TimescaleDB cluster for the test session, and fresh databases cloned from a template.

The cluster lives in a temporary folder on a free port, so tests never touch the database that
`make run` fills and can stop and start their server at will. With DATABASE_URL set, the tests
use that server instead and create (and drop) their own databases on it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PGCLUSTER = ROOT / "scripts" / "pgcluster.sh"
# fsync off: a test cluster trades crash safety for speed; nothing here must survive. No
# TimescaleDB background workers: their per-database scheduler would hold a session on the
# template database and make CREATE DATABASE ... TEMPLATE fail.
TEST_SERVER_OPTIONS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    " -c timescaledb.max_background_workers=0"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PgServer:
    """A server the tests own (dir set) or borrow (DATABASE_URL; dir None)."""

    admin_url: str
    port: int | None = None
    dir: str | None = None
    databases: list[str] = field(default_factory=list)
    options: str = TEST_SERVER_OPTIONS

    @classmethod
    def start_private(cls, options: str = TEST_SERVER_OPTIONS) -> PgServer:
        base = tempfile.mkdtemp(prefix="qw-test-")
        os.chmod(base, 0o755)
        cluster_dir = os.path.join(base, "pg")
        port = free_port()
        subprocess.run(
            ["bash", str(PGCLUSTER), "start", cluster_dir, str(port), options], check=True
        )
        return cls(
            f"postgresql://postgres@127.0.0.1:{port}/postgres", port, cluster_dir, options=options
        )

    def stop(self) -> None:
        assert self.dir, "only a private cluster can be stopped"
        subprocess.run(["bash", str(PGCLUSTER), "stop", self.dir], check=True)

    def crash(self) -> None:
        """Stop the server the way a crash does: no checkpoint, clients cut off mid-query."""
        assert self.dir, "only a private cluster can be crashed"
        subprocess.run(["bash", str(PGCLUSTER), "crash", self.dir], check=True)

    def start(self) -> None:
        assert self.dir and self.port
        subprocess.run(
            ["bash", str(PGCLUSTER), "start", self.dir, str(self.port), self.options], check=True
        )

    def url(self, database: str) -> str:
        return self.admin_url.rsplit("/", 1)[0] + "/" + database

    def create_database(self, template: str | None = None) -> str:
        name = f"qw_test_{uuid.uuid4().hex[:10]}"
        clause = f" TEMPLATE {template}" if template else ""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}{clause}")
        self.databases.append(name)
        return name

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def close(self) -> None:
        if self.dir:
            self.stop()
            shutil.rmtree(os.path.dirname(self.dir), ignore_errors=True)
        else:
            for name in self.databases:
                self.drop_database(name)
