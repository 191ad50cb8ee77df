"""`quaywatch declarations ...`: import, re-screen, rebuild references, simulate, feeds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from collector.commands import iso_time, pull_options
from quaywatch.cli import Context, pass_context


@click.group()
def declarations() -> None:
    """Customs declarations and their risk screening."""


@declarations.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["auto", "csv", "ndjson"]), default="auto")
@click.option("--batch", default=5000, show_default=True, help="Declarations per transaction.")
@pass_context
def import_file(ctx: Context, path: Path, fmt: str, batch: int) -> None:
    """Import and screen declarations from a CSV or NDJSON file; bad lines are reported."""
    from collector.risk.intake import import_declarations

    summary = import_declarations(ctx.engine, ctx.settings, path, fmt, batch, echo=click.echo)
    click.echo(summary.describe().replace("events", "declarations"))
    if summary.rejected and not summary.stored:
        raise SystemExit(1)


@declarations.command("rescreen")
@click.option("--since", required=True, help="Re-screen declarations from this time (ISO 8601).")
@click.option("--until", default=None, help="Up to this time (default: all).")
@click.option("--workers", default=2, show_default=True, help="Parallel database connections.")
@click.option("--slice-rows", default=50_000, show_default=True, help="Declarations per slice.")
@pass_context
def rescreen(ctx: Context, since: str, until: str | None, workers: int, slice_rows: int) -> None:
    """Score stored declarations again with today's references, thresholds and rules."""
    from collector.risk.rescreen import rescreen as run

    result = run(
        ctx.engine, iso_time(since), iso_time(until) if until else None, workers, slice_rows
    )
    click.echo(result.describe())


@declarations.command("rebuild-references")
@click.option("--since", required=True, help="Build from declarations since (ISO 8601).")
@pass_context
def rebuild_references(ctx: Context, since: str) -> None:
    """Recompute the value references from stored declarations (e.g. a trailing year)."""
    from collector.risk.references import rebuild
    from quaywatch.db import raw_connection

    with raw_connection(ctx.engine) as conn:
        keys = rebuild(conn, iso_time(since))
    click.echo(f"rebuilt {keys:,} references")


@declarations.command("simulate")
@click.option("--seed", default=11, show_default=True)
@click.option("--warmup", default=15_000, show_default=True)
@click.option("--count", default=8_000, show_default=True, help="Declarations after the warm-up.")
@click.option("--anomaly-rate", default=0.01, show_default=True, help="Injected, per kind.")
@pass_context
def simulate(ctx: Context, seed: int, warmup: int, count: int, anomaly_rate: float) -> None:
    """Store simulated declarations with injected anomalies; print precision and recall."""
    from collector.risk.simulation.evaluation import evaluate
    from collector.risk.simulation.simulator import RiskSimConfig, generate
    from collector.risk.store import save_declarations
    from quaywatch.db import raw_connection

    run = generate(
        RiskSimConfig(seed, warmup=warmup, declarations=count, anomaly_rate=anomaly_rate)
    )
    for start in range(0, len(run.items), 2000):
        with raw_connection(ctx.engine) as conn:
            save_declarations(
                conn, [d.as_row("sim", d.arrival) for d in run.items[start : start + 2000]]
            )
    with ctx.engine.connect() as conn:
        for score in evaluate(conn, run):
            click.echo(score.as_dict())


@declarations.group()
def feeds() -> None:
    """Declaration feeds the collector pulls."""


@feeds.command("add")
@click.argument("feed_id")
@click.option("--url", required=True)
@pull_options
@pass_context
def feeds_add(ctx: Context, /, feed_id: str, url: str, **pull: Any) -> None:
    """Add or update a declaration feed."""
    from collector.risk.intake import DeclarationFeed, upsert_feed

    with ctx.engine.begin() as conn:
        upsert_feed(conn, DeclarationFeed(feed_id, url, **pull))
    click.echo(f"declaration feed {feed_id} saved")


@feeds.command("pull")
@pass_context
def feeds_pull(ctx: Context) -> None:
    """Poll every declaration feed that is due, once."""
    from collector.risk.intake import poll_due

    for outcome in poll_due(ctx.engine, ctx.settings):
        click.echo(outcome.describe().replace("events", "declarations"))


def register(cli: click.Group) -> None:
    cli.add_command(declarations)
