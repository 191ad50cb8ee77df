"""The alerter's scheduled steps, as quaywatch.scheduler calls them; write through the steps."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from alerter.delivery.dispatch import dispatch_once, prune_once
from alerter.evaluation.step import evaluate_all
from quaywatch.settings import Settings


def evaluate(engine: Engine, settings: Settings) -> Any:
    return evaluate_all(engine, settings)


def dispatch(engine: Engine, settings: Settings) -> Any:
    # Drain while there is more: a burst is sent now, not a batch every two seconds.
    for _ in range(50):
        if not dispatch_once(engine, settings).more:
            break


def prune(engine: Engine, settings: Settings) -> Any:
    return prune_once(engine, settings)
