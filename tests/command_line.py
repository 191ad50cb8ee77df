"""Running `quaywatch` commands inside a test, against the test's own database."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import CliRunner, Result

from quaywatch.cli import cli
from quaywatch.settings import Settings


def quaywatch_runner(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, register: Callable[..., object]
) -> Callable[..., Result]:
    """`run("rules", "list")` invokes the CLI with the commands `register` adds, letting an
    exception through so that a failure shows its traceback."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    register(cli)

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return run
