"""The alerter's commands for ``quaywatch``: the ``rules`` and ``channels`` groups; no tables.

quaywatch.cli calls ``register`` as it does each package's commands module; the groups live
with what they operate on (rules.commands, delivery.commands).
"""

from __future__ import annotations

import click

from alerter.delivery import commands as delivery_commands
from alerter.rules import commands as rule_commands


def register(cli: click.Group) -> None:
    rule_commands.register(cli)
    delivery_commands.register(cli)
