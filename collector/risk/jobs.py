"""The risk screening's scheduled step, in the (engine, settings) shape quaywatch.scheduler calls."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine

from collector.intake.feeds import log_failures
from collector.risk.intake import poll_due
from quaywatch.settings import Settings

log = logging.getLogger(__name__)


def declaration_feeds(engine: Engine, settings: Settings) -> Any:
    return log_failures(log, "declaration feed", poll_due(engine, settings))
