"""Running `quaywatch` commands inside a test, against the test's own database."""

from __future__ import annotations

from collections.abc import Callable

import click
import pytest
from click.testing import CliRunner, Result

from quaywatch.cli import Context, cli
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


def fresh_cli(register: Callable[[click.Group], object]) -> click.Group:
    """A root group of its own with the commands `register` adds, for a test that sets the
    environment per call (the shared `cli` keeps every command a test registered)."""

    @click.group()
    @click.pass_context
    def root(ctx: click.Context) -> None:
        ctx.obj = Context()

    register(root)
    return root
