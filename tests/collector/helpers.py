"""Reads for the collector tests (one statement on a fresh connection, its rows as they come),
and the declarative indicator they apply and compute."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, text

# Written as an operator would: population and measure are left to their defaults.
RIVER_21_OVER_48H: dict[str, Any] = {
    "code": "haz21_river_over_48h",
    "name_en": "Class 2.1 lots held over 48 h at river ports",
    "name_zh": "内河港口滞留超48小时的2.1类危险品批次",
    "unit": "lots",
    "theme": "hazardous_goods",
    "direction": "higher_is_worse",
    "filters": {"hazard_class": ["2.1"], "site_type": ["RIV"], "dwell_over_hours": 48},
}


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
