"""`quaywatch rules list` and `rules apply FILE.yaml`; apply writes through rules.store."""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from quaywatch.cli import Context, pass_context


@click.group()
def rules() -> None:
    """Alert rules."""


@rules.command("list")
@click.option("--node", "node_id", default="CN", show_default=True, help="Subtree to list.")
@click.option(
    "--kind", type=click.Choice(["threshold", "forecast", "deadline", "no_data"]), default=None
)
@pass_context
def rules_list(ctx: Context, node_id: str, kind: str | None) -> None:
    """Show the rules of a subtree (and of its ancestors) as a table."""
    from alerter.evaluation.reads.alerts import rule_health
    from alerter.rules import reads
    from alerter.rules.kinds import RuleError, parse_rule

    with ctx.engine.connect() as conn:
        path = reads.node_info(conn, node_id)
        if path is None:
            raise click.ClickException(f"--node: no org node {node_id!r}")
        listed = reads.list_rules(conn, path[1], {"kind": kind} if kind else {}, 10_000, 0)
        health = rule_health(conn)
    table = [("ID", "NAME", "KIND", "NODE", "LEVEL", "SEVERITY", "ON", "HEALTH", "CONDITION")]
    for stored, _ in listed:
        try:
            condition = parse_rule(stored.spec).describe()
        except RuleError as exc:
            condition = f"invalid: {exc}"
        table.append(
            (
                str(stored.rule_id),
                stored.name,
                stored.kind,
                stored.node_id,
                str(stored.spec.get("level", "")),
                str(stored.spec.get("severity", "")),
                "yes" if stored.enabled else "no",
                health.get(stored.rule_id, "-"),
                condition + ("  [proposed]" if stored.proposal_status == "proposed" else ""),
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        click.echo("  ".join([*cells, row[-1]]).rstrip())


@rules.command("apply")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and report, change nothing.")
@pass_context
def rules_apply(ctx: Context, path: Path, dry_run: bool) -> None:
    """Create or update the rules of a YAML file, matched by name (all or nothing)."""
    from alerter.rules import store
    from alerter.rules.defaults import RulesFileError, check_nodes, parse_rules_text

    actor = store.Actor(f"cli:{getpass.getuser()}")
    try:
        parsed = parse_rules_text(path.read_text(encoding="utf-8"), str(path))
        with ctx.engine.connect() as conn, conn.begin() as transaction:
            check_nodes(conn, parsed, str(path))
            outcomes = [store.apply_rule(conn, rule, actor) for rule in parsed]
            if dry_run:
                transaction.rollback()
    except RulesFileError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        raise SystemExit(1) from None
    for outcome, stored in outcomes:
        click.echo(f"{outcome:9} {stored.name} (rule {stored.rule_id})")
    counts = {name: sum(1 for o, _ in outcomes if o == name) for name in ("created", "updated")}
    suffix = " (dry run: nothing saved)" if dry_run else ""
    click.echo(f"{counts['created']} created, {counts['updated']} updated{suffix}")


def register(cli: click.Group) -> None:
    """Add the ``rules`` group to the ``quaywatch`` command."""
    cli.add_command(rules)
