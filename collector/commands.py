"""The collector's commands: import, simulate, metrics backfill, feeds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from quaywatch.cli import Context, pass_context

_Command = TypeVar("_Command", bound=Callable[..., Any])
# How the collector pulls a feed, station events or declarations alike.
_PULL_OPTIONS = [
    click.option("--auth-header", default=None, help="Header name, e.g. Authorization."),
    click.option("--auth-secret", default=None, help="Header value (stored, never shown)."),
    click.option("--cursor-param", default="since", show_default=True),
    click.option("--interval", "interval_s", default=60, show_default=True),
]


def pull_options(command: _Command) -> _Command:
    """The options of `feeds add` that say how to pull a feed, in this order in --help; each is
    named for the FeedConfig field (collector.intake.feeds) it sets."""
    for option in reversed(_PULL_OPTIONS):  # as if stacked: the first one listed applies last
        command = option(command)
    return command


def iso_time(value: str) -> datetime:
    """A command-line time: ISO 8601, UTC when it names no zone."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "csv", "ndjson"]),
    default="auto",
    show_default=True,
)
@click.option("--batch", default=5000, show_default=True, help="Events per transaction.")
@pass_context
def import_file(ctx: Context, path: Path, fmt: str, batch: int) -> None:
    """Import cargo events from a CSV or NDJSON file, streaming; bad lines are reported by number."""
    from collector.intake.cargo_events import import_file as run_import

    summary = run_import(ctx.engine, ctx.settings, path, fmt, batch, echo=click.echo)
    click.echo(summary.describe())
    if summary.rejected and not summary.stored:
        raise SystemExit(1)


@click.group()
def simulate() -> None:
    """The national simulator."""


@simulate.command("backfill")
@click.option("--days", default=14, show_default=True)
@click.option("--seed", default=7, show_default=True)
@click.option("--scale", type=float, default=None, help="Volume multiplier (QUAYWATCH_SIM_SCALE).")
@click.option("--end", type=str, default=None, help="End of the window (default: now).")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has events.")
@click.option(
    "--truth",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the hazardous-lot breach ground truth to this CSV.",
)
@click.option(
    "--declarations/--no-declarations",
    default=True,
    show_default=True,
    help="Also store the risk simulator's declarations (the risk queue's history).",
)
@click.option(
    "--older-step-hours",
    type=click.IntRange(1, 24),
    default=1,
    show_default=True,
    help="Metrics of days before the last two every N hours (a faster first run).",
)
@pass_context
def simulate_backfill(
    ctx: Context,
    days: int,
    seed: int,
    scale: float | None,
    end: str | None,
    if_empty: bool,
    truth: Path | None,
    declarations: bool,
    older_step_hours: int,
) -> None:
    """Simulate DAYS of national history into the database through the ingest path."""
    import sys

    from tqdm import tqdm

    from collector.risk.simulation.simulator import RiskSimConfig
    from collector.sim_runs import Progress, backfill, database_is_empty, write_ground_truth
    from collector.simulator import SimConfig

    if if_empty and not database_is_empty(ctx.engine):
        click.echo("events already present: skipping the simulated backfill")
        return
    cfg = SimConfig(seed=seed, scale=scale or ctx.settings.sim_scale)
    # Bars only for a person watching: logs of tests and CI stay free of carriage returns.
    quiet = not sys.stderr.isatty()
    events = tqdm(unit=" events", desc="simulating", unit_scale=True, disable=quiet)
    metrics: list[tqdm[None]] = []

    def metrics_to_come(total: int) -> None:
        events.close()
        metrics.append(tqdm(total=total, unit=" times", desc="metrics", disable=quiet))

    shown = Progress(events.update, lambda n: metrics[-1].update(n), metrics_to_come)
    risk = RiskSimConfig() if declarations else None
    try:
        result = backfill(
            ctx.engine,
            days,
            cfg,
            iso_time(end) if end else None,
            progress=shown,
            risk=risk,
            older_step=timedelta(hours=older_step_hours) if older_step_hours > 1 else None,
        )
    finally:
        for bar in (events, *metrics):
            bar.close()
    click.echo(
        f"{result.events:,} events ({result.stored:,} new), {result.declarations:,} declarations,"
        f" metrics at {result.metric_times} times, in {result.seconds:.1f} s"
    )
    if truth:
        click.echo(
            f"ground truth: {write_ground_truth(ctx.engine, truth):,} hazardous lots -> {truth}"
        )


@simulate.command("truth")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@pass_context
def simulate_truth(ctx: Context, path: Path) -> None:
    """Write when each hazardous lot breached its deadline (for forecaster backtests)."""
    from collector.sim_runs import write_ground_truth

    click.echo(f"{write_ground_truth(ctx.engine, path):,} hazardous lots -> {path}")


@click.group()
def metrics() -> None:
    """Indicator metrics."""


@metrics.command("backfill")
@click.option("--since", required=True, help="Start time (ISO 8601).")
@click.option("--until", default=None, help="End time (default: now).")
@click.option("--step-minutes", default=60, show_default=True)
@click.option("--indicator", "code", default=None, help="Only this indicator (CODE).")
@pass_context
def metrics_backfill(
    ctx: Context, since: str, until: str | None, step_minutes: int, code: str | None
) -> None:
    """Recompute metrics for a past range (idempotent); --indicator: `indicators backfill`."""
    from collector.rollup import backfill_metrics

    if code is not None:
        click.get_current_context().invoke(
            indicators_backfill, code=code, since=since, until=until, step_minutes=step_minutes
        )
        return
    end = iso_time(until) if until else datetime.now(UTC)
    result = backfill_metrics(ctx.engine, iso_time(since), end, timedelta(minutes=step_minutes))
    click.echo(f"recomputed {result.times} times, {result.points:,} points")


@click.group()
def feeds() -> None:
    """Station feeds the collector pulls."""


@feeds.command("add")
@click.argument("feed_id")
@click.option("--url", required=True)
@click.option("--site", "site_id", default=None)
@pull_options
@pass_context
def feeds_add(ctx: Context, /, feed_id: str, url: str, site_id: str | None, **pull: Any) -> None:
    """Add or update a station feed."""
    from collector.intake.cargo_events import upsert_feed
    from collector.intake.feeds import FeedConfig

    with ctx.engine.begin() as conn:
        upsert_feed(conn, FeedConfig(feed_id, url, site_id, **pull))
    click.echo(f"feed {feed_id} saved")


@feeds.command("pull")
@pass_context
def feeds_pull(ctx: Context) -> None:
    """Poll every feed that is due, once."""
    from collector.intake.cargo_events import poll_due

    for outcome in poll_due(ctx.engine, ctx.settings):
        click.echo(outcome.describe())


@click.group()
def lots() -> None:
    """Lot state."""


@lots.command("refold")
@click.option("--site", "site_ids", multiple=True, help="Only these sites (default: every site).")
@pass_context
def lots_refold(ctx: Context, site_ids: tuple[str, ...]) -> None:
    """Rebuild lot state from the stored events, a site per transaction (safe while running)."""
    from tqdm import tqdm

    from collector.lot_store import refold_site
    from collector.store import known_sites
    from quaywatch.db import raw_connection

    with raw_connection(ctx.engine) as conn:
        sites = sorted(site_ids or known_sites(conn))
    visits = 0
    for site_id in tqdm(sites, unit="site", disable=None):
        with raw_connection(ctx.engine) as conn:
            visits += refold_site(conn, site_id)
    click.echo(f"refolded {visits} lot visits at {len(sites)} sites from their stored events")


@click.group()
def indicators() -> None:
    """User-defined indicators (specs, see docs/indicators.md)."""


@indicators.command("apply")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", "created_by", default=None, help="Who applies them (default: $USER).")
@pass_context
def indicators_apply(ctx: Context, path: Path, created_by: str | None) -> None:
    """Validate every spec in PATH, then upsert them by code (a changed spec is a new version)."""
    import getpass

    from collector.indicators.apply import SpecFileError, apply_file

    try:
        with ctx.engine.begin() as conn:
            applied = apply_file(conn, path, created_by or getpass.getuser())
    except SpecFileError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        raise SystemExit(1) from exc
    for a in applied:
        click.echo(f"{a.code}: {'version ' + str(a.version) if a.changed else 'unchanged'}")


@indicators.command("backfill")
@click.argument("code")
@click.option("--since", required=True, help="Start time (ISO 8601).")
@click.option("--until", default=None, help="End time (default: now).")
@click.option("--step-minutes", default=60, show_default=True)
@pass_context
def indicators_backfill(
    ctx: Context, code: str, since: str, until: str | None, step_minutes: int
) -> None:
    """Recompute one indicator (user-defined: its latest version) for a past range."""
    from collector.rollup import UnknownIndicator, backfill_metrics

    end = iso_time(until) if until else datetime.now(UTC)
    step = timedelta(minutes=step_minutes)
    try:
        result = backfill_metrics(ctx.engine, iso_time(since), end, step, indicator=code)
    except UnknownIndicator as exc:
        raise click.BadParameter(f"no indicator {exc.args[0]!r}", param_hint="CODE") from exc
    click.echo(f"{code}: recomputed {result.times} times, {result.points:,} points")


def register(cli: click.Group) -> None:
    for command in (import_file, simulate, metrics, feeds, lots, indicators):
        cli.add_command(command)
