"""``quaywatch channels list|test|rotate-secrets|new-key``; writes a test send's attempt and
re-encrypted channel secrets (through delivery.secret_rotation).

The lead's cli.main wires ``register`` like each package's commands module.
"""

from __future__ import annotations

import click

from quaywatch.cli import Context, pass_context


def register(cli: click.Group) -> None:
    """Add the ``channels`` group to the ``quaywatch`` command."""
    cli.add_command(channels)


@click.group()
def channels() -> None:
    """Notification channels: list them, send a test message, rotate their secrets' key."""


@channels.command("list")
@click.option("--node", "node_id", default="CN", show_default=True, help="Only this subtree.")
@pass_context
def list_channels(ctx: Context, node_id: str) -> None:
    """One line per channel: id, node, kind, name, state, last error (secrets never shown)."""
    from alerter.delivery import reads

    with ctx.engine.connect() as conn:
        found = reads.channels(conn, node_id, 500, 0)
    for row in found:
        state = "enabled" if row["enabled"] else "disabled"
        if row["meta_firing"]:
            state += ", failing"
        error = f"  last error: {row['last_error']}" if row["last_error"] else ""
        click.echo(
            f"{row['channel_id']:>5}  {row['node_id']:<14} {row['kind']:<12} {row['name']}"
            f"  [{state}]{error}"
        )


@channels.command("test")
@click.argument("channel_id", type=int)
@pass_context
def test_channel(ctx: Context, channel_id: int) -> None:
    """Send a test message to CHANNEL_ID once (no retries) and print what the vendor said."""
    from alerter.delivery import reads
    from alerter.delivery.probe import send_test

    with ctx.engine.connect() as conn:
        record = reads.channel_record(conn, channel_id)
    if record is None:
        raise click.ClickException(f"no channel {channel_id}")
    result = send_test(ctx.engine, ctx.settings, record)
    code = f", vendor code {result.vendor_code}" if result.vendor_code else ""
    if result.ok:
        click.echo(f"ok: delivered in {result.latency_ms} ms ({result.parts} part(s){code})")
        return
    raise click.ClickException(f"{result.status}: {result.error}{code}")


@channels.command("rotate-secrets")
@pass_context
def rotate_secrets(ctx: Context) -> None:
    """Re-encrypt every channel's secrets with the first key of QUAYWATCH_SECRET_KEYS.

    Plain rows from before encryption at rest are encrypted too. Safe to run again: rows
    already under the first key are left alone. Exits 1 if a row opens with no key.
    """
    from alerter.delivery import secret_rotation
    from quaywatch.security.secret_box import SecretBox, SecretBoxError

    try:
        box = SecretBox(ctx.settings.secret_keys)
        with ctx.engine.begin() as conn:
            done = secret_rotation.reseal_channels(conn, box)
    except SecretBoxError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"encrypted {done.sealed} plain, re-encrypted {done.rotated}, {done.current} already"
        f" current, {len(done.unreadable)} unreadable"
    )
    if done.unreadable:
        ids = ", ".join(str(i) for i in done.unreadable)
        raise click.ClickException(
            f"channels {ids}: no key of QUAYWATCH_SECRET_KEYS decrypts their secrets; add back"
            " the key they were encrypted with, or enter them again (PATCH /api/v1/channels/<id>)"
        )


@channels.command("new-key")
def new_key() -> None:
    """Print a new Fernet key for QUAYWATCH_SECRET_KEYS (put it first, then rotate-secrets)."""
    from quaywatch.security.secret_box import generate_key

    click.echo(generate_key())
