"""The `quaywatch` command line: database, service, and each package's commands."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from quaywatch.optional import import_optional
from quaywatch.settings import Settings, SettingsError, load_settings, read_file

# Each package adds its own commands; a package that is absent adds none.
COMMAND_MODULES = (
    "collector.commands",
    "collector.risk.commands",
    "forecaster.commands",
    "alerter.commands",
    "grafana.local_config",  # run from the checkout only: grafana/ is not installed
)


class Context:
    """Settings and engine, made on first use so `--help` needs no database."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._engine: Any = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings(_environment())
            except SettingsError as exc:
                raise click.ClickException(str(exc)) from exc
        return self._settings

    @property
    def engine(self) -> Any:
        if self._engine is None:
            from quaywatch.db import make_engine

            self._engine = make_engine(self.settings)
        return self._engine


# Written by `make run` inside the checkout: the local cluster's URL, so the checkout's own
# .venv/bin/quaywatch works with no variable set.
LOCAL_ENV = Path(__file__).resolve().parent.parent / ".quaywatch" / "local.env"


def _environment() -> dict[str, str]:
    """The environment, or, when it names no database, the local `make run` database (and the
    command says so, since which database a command writes to matters)."""
    env = dict(os.environ)
    if "DATABASE_URL" in env or "QUAYWATCH_CONFIG" in env or not LOCAL_ENV.is_file():
        return env
    url = read_file(LOCAL_ENV).get("DATABASE_URL", "?")
    click.echo(f"using the local database of `make run`: {url} (from {LOCAL_ENV})", err=True)
    return {**env, "QUAYWATCH_CONFIG": str(LOCAL_ENV)}


pass_context = click.make_pass_decorator(Context, ensure=True)


@click.group()
@click.pass_context
def cli(ctx: click.Context) -> None:
    """QuayWatch: monitoring and early warning for customs and port operations."""
    ctx.obj = Context()


@cli.group()
def db() -> None:
    """Schema migrations and reference data."""


@db.command("upgrade")
@pass_context
def db_upgrade(ctx: Context) -> None:
    """Apply pending SQL migrations from sql/ (a no-op when up to date)."""
    from quaywatch.migrations import MigrationError, upgrade

    try:
        applied = upgrade(ctx.engine)
    except MigrationError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else "")
    )


@db.command("seed")
@pass_context
def db_seed(ctx: Context) -> None:
    """Load the org tree, storage limits and indicator catalogue (idempotent)."""
    from collector.metrics import ensure_series, seed_indicators
    from collector.org_hierarchy import seed_org_tree
    from quaywatch.security.auth import issue_token

    with ctx.engine.begin() as conn:
        nodes = seed_org_tree(conn)
        indicators = seed_indicators(conn)
        new_series = ensure_series(conn)
        rules, upgraded = _seed_default_rules(conn)
        token = ctx.settings.admin_token.value
        if token:
            issue_token(conn, "bootstrap admin", "admin", "CN", token=token)
    click.echo(
        f"seeded {nodes} org nodes, {indicators} indicators, {new_series} new series, "
        f"{rules} new default rules"
    )
    if upgraded:
        click.echo(f"upgraded default rules still as shipped earlier: {', '.join(upgraded)}")


def _seed_default_rules(conn: Any) -> tuple[int, list[str]]:
    try:
        from alerter.rules.defaults import seed_default_rules, upgrade_superseded_defaults
    except ModuleNotFoundError:
        return 0, []
    return seed_default_rules(conn), upgrade_superseded_defaults(conn)


@db.command("status")
@pass_context
def db_status(ctx: Context) -> None:
    """Show the TimescaleDB licence and applied migrations."""
    from sqlalchemy import text

    from quaywatch.db import probe_capabilities

    with ctx.engine.connect() as conn:
        caps = probe_capabilities(conn)
        rows = conn.execute(text("SELECT name, applied_at FROM schema_migrations ORDER BY name"))
        click.echo(f"timescaledb {caps.version} licence {caps.license}")
        for name, applied_at in rows:
            click.echo(f"  {name}  {applied_at:%Y-%m-%d %H:%M:%S}")


@cli.command("run")
@click.option(
    "--role",
    type=click.Choice(["all", "api", "collector", "forecaster", "alerter"]),
    default="all",
    show_default=True,
    help="Which parts this process runs.",
)
@click.option(
    "--simulate/--no-simulate",
    default=False,
    help="Also feed live simulated events through the HTTP API.",
)
@click.option(
    "--speed",
    type=float,
    default=1.0,
    show_default=True,
    help="Simulator speed factor (simulated seconds per real second).",
)
@pass_context
def run(ctx: Context, role: str, simulate: bool, speed: float) -> None:
    """Run the API and the scheduled jobs until interrupted."""
    from quaywatch.service import run_service

    run_service(ctx.settings, ctx.engine, role=role, simulate=simulate, speed=speed)


@cli.group()
def tokens() -> None:
    """API tokens."""


def _expiry_option(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> timedelta | None:
    from quaywatch.security.auth import parse_expiry

    try:
        return parse_expiry(value) if value is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@tokens.command("create")
@click.option("--name", required=True)
@click.option(
    "--role", type=click.Choice(["viewer", "station", "operator", "admin"]), required=True
)
@click.option("--node", "node_id", default="CN", show_default=True, help="Org node the token sees.")
@click.option(
    "--expires-in",
    callback=_expiry_option,
    help="Lifetime such as 30d, 12h, 90m or 2w; without it the token never expires.",
)
@pass_context
def tokens_create(
    ctx: Context, name: str, role: str, node_id: str, expires_in: timedelta | None
) -> None:
    """Create a token; it is printed once and only its hash is stored."""
    from quaywatch.security.auth import issue_token

    expires_at = datetime.now(UTC) + expires_in if expires_in else None
    with ctx.engine.begin() as conn:
        token = issue_token(conn, name, role, node_id, expires_at=expires_at).token
    click.echo(token)


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ") if value else "-"


@tokens.command("list")
@click.option("--node", "node_id", default="CN", show_default=True, help="Subtree to list.")
@pass_context
def tokens_list(ctx: Context, node_id: str) -> None:
    """Tokens of a subtree: id, name, role, node, created, last used, expires, state.

    Token values are never shown: only their hashes are stored."""
    from quaywatch.security.auth import list_tokens

    with ctx.engine.connect() as conn:
        rows = list_tokens(conn, node_id)
    click.echo("id\tname\trole\tnode\tcreated\tlast_used\texpires\tstate")
    now = datetime.now(UTC)
    for r in rows:
        expired = r["expires_at"] is not None and r["expires_at"] <= now
        state = "revoked" if r["revoked_at"] else "expired" if expired else "active"
        cells = (r["token_id"], r["name"], r["role"], r["node_id"], _when(r["created_at"]),
                 _when(r["last_used_at"]), _when(r["expires_at"]), state)  # fmt: skip
        click.echo("\t".join(map(str, cells)))


@tokens.command("revoke")
@click.argument("token_id", type=int)
@pass_context
def tokens_revoke(ctx: Context, token_id: int) -> None:
    """Revoke a token by id; requests with it are refused from then on."""
    from quaywatch.security.auth import revoke_token

    with ctx.engine.begin() as conn:
        row = revoke_token(conn, token_id, "CN")
    if row is None:
        raise click.ClickException(f"no token {token_id}")
    click.echo(f"revoked token {token_id} ({row['name']})")


def main(argv: list[str] | None = None) -> Any:
    for module_name in COMMAND_MODULES:
        module = import_optional(module_name)
        if module is not None:
            module.register(cli)
    return cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="quaywatch")
