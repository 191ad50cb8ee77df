"""``quaywatch forecast run | plot`` and ``quaywatch backtest``."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from quaywatch.cli import Context, pass_context


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    at = datetime.fromisoformat(value)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@click.group("forecast")
def forecast() -> None:
    """Forecasts of every forecastable series and breach predictions for held lots."""


@forecast.command("run")
@click.option("--site", "sites", multiple=True, help="Node id to forecast (repeatable).")
@click.option("--indicator", "indicators", multiple=True, help="Indicator code (repeatable).")
@click.option("--workers", type=int, default=None, help="Fit processes (default: CPUs).")
@click.option("--at", "at", default=None, help="Run as of this time (ISO 8601; default now).")
@pass_context
def forecast_run(
    ctx: Context,
    sites: tuple[str, ...],
    indicators: tuple[str, ...],
    workers: int | None,
    at: str | None,
) -> None:
    """Run one forecast cycle now (what the scheduler does every 15 minutes)."""
    from forecaster.cycle import CycleOptions, run_cycle

    options = CycleOptions(
        scheduler=ctx.settings.dask_scheduler, refit_hours=ctx.settings.forecast_refit_hours
    )
    if workers:
        options = dataclasses.replace(options, workers=workers)
    summary = run_cycle(
        ctx.engine, ctx.settings, _when(at), sites or None, indicators or None, options=options
    )
    if summary.run_id is None:
        raise click.ClickException("another forecast cycle holds the lock; try again later")
    click.echo(
        f"run {summary.run_id} in {summary.seconds:.1f} s: "
        + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in summary.counts().items())
    )
    for series_id, outcome, reason in summary.failures:
        click.echo(f"  series {series_id} {outcome}: {reason}")
    for error in summary.errors:
        click.echo(f"  error: {error}", err=True)


@forecast.command("plot")
@click.argument("node_id")
@click.argument("indicator")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--threshold", "thresholds", type=float, multiple=True, help="Extra threshold.")
@click.option("--at", "at", default=None, help="Forecast as of this time (ISO 8601).")
@pass_context
def forecast_plot(
    ctx: Context,
    node_id: str,
    indicator: str,
    out: Path,
    thresholds: tuple[float, ...],
    at: str | None,
) -> None:
    """Write a PNG: history, forecast band, thresholds and the predicted crossing."""
    from forecaster.plot import plot_series

    try:
        decisions = plot_series(
            ctx.engine, node_id, indicator, out, at=_when(at), thresholds=thresholds
        )
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {out}")
    for d in decisions:
        when = (
            f"at {d.crossing_at:%Y-%m-%d %H:%M}"
            if d.crossing_at is not None
            else "not within the horizon"
        )
        click.echo(
            f"  {d.direction} {d.threshold:g}: {when} (p={d.probability:.2f}, rule {d.rule})"
        )


@click.command("backtest")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=None,
    help="Days of origins replayed [default: 7; with --csv, the whole file].",
)
@click.option("--indicator", "indicators", multiple=True, help="Indicator code (repeatable).")
@click.option("--site", "sites", multiple=True, help="Node ids scored (default: 10 busiest + CN).")
@click.option("--step-hours", default=3, show_default=True, help="Hours between origins.")
@click.option(
    "--budget",
    default=1.0,
    show_default=True,
    help="False-alarm episodes per site-week, recorded with --apply (the champion is chosen by"
    " false-alarm episodes at the best seasonal naive's F1, without a budget).",
)
@click.option("--apply", "apply_rules", is_flag=True, help="Store the chosen rule per indicator.")
@click.option("--deadlines/--no-deadlines", default=True, show_default=True)
@click.option("--thresholds/--no-thresholds", default=True, show_default=True)
@click.option("--csv", "csv_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--threshold", type=float, default=None, help="Threshold for --csv.")
@click.option("--direction", type=click.Choice(["above", "below"]), default="above")
@click.option(
    "--count",
    is_flag=True,
    help="With --csv: the series is a count, so forecasts are clipped at zero (default: values"
    " below zero are kept; stored indicators are always clipped).",
)
@click.option(
    "--seasonality-mode",
    type=click.Choice(["additive", "multiplicative"]),
    multiple=True,
    help="Prophet seasonality mode to score (repeatable) [default: additive; with --csv, both"
    " compete for the champion].",
)
@click.option("--window-days", default=28, show_default=True, help="Training window per origin.")
@click.option("--workers", type=int, default=2, show_default=True)
@click.option(
    "--store/--no-store", default=True, show_default=True, help="Save to backtest_result."
)
@pass_context
def backtest(ctx: Context, /, **options: Any) -> None:
    """Replay history with rolling origins and print markdown score tables.

    Without --csv: the database's hourly metrics and lots (the simulator's history, with its
    ground truth). With --csv FILE --threshold X: one external timestamp,value series, hourly
    or finer (averaged per hour; daily or coarser data is refused), header row optional.
    """
    from forecaster.backtest.report import run_backtest

    if options["csv_path"] and options["threshold"] is None:
        raise click.UsageError("--csv needs --threshold")
    if options["count"] and not options["csv_path"]:
        raise click.UsageError("--count applies to --csv only (stored indicators are counts)")
    if options["days"] is None and not options["csv_path"]:
        options["days"] = 7
    wants_db = not options["csv_path"] or options["store"]
    try:
        for block in run_backtest(ctx.engine if wants_db else None, options):
            click.echo(block)
    except ValueError as exc:  # unreadable CSV, coarse data, empty history: the cause, no trace
        raise click.ClickException(str(exc)) from exc


def register(cli: click.Group) -> None:
    cli.add_command(forecast)
    cli.add_command(backtest)
