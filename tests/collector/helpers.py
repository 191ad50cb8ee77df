"""Reads for the collector tests (one statement on a fresh connection, its rows as they come),
and the declarative indicator they apply and compute."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, text

# The docs' example, re-exported: the tests apply the spec the docs show.
from collector.indicators.examples import RIVER_21_OVER_48H as RIVER_21_OVER_48H


def select_all(engine: Engine, sql: str, **params: Any) -> Sequence[Row[Any]]:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def select_one(engine: Engine, sql: str, **params: Any) -> Row[Any]:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).one()


def select_value(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def point_value(engine: Engine, node: str, code: str, at: datetime) -> Any:
    """The metric point of `code` at `node` at time `at`, None when none was written."""
    return select_value(
        engine,
        "SELECT p.value FROM metric_point p JOIN series s USING (series_id)"
        " WHERE s.node_id = :n AND s.indicator_code = :c AND p.time = :t",
        n=node,
        c=code,
        t=at,
    )
