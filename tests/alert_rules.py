"""Helpers for alerter tests: rules stored through the alerter's store, values put straight into
series_latest / metric_point (precise numbers at precise times), and reads of the results."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, text

from alerter.rules import store
from alerter.rules.kinds import parse_rule

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TEST_ACTOR = store.Actor("test")


def threshold_spec(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": "clearance_slow",
        "kind": "threshold",
        "indicator": "clearance_time_p90_hours",
        "operator": ">",
        "threshold": 48,
        "severity": "warning",
        "node_id": "CN",
    }
    spec.update(changes)
    return spec


def add_rule(engine: Engine, spec: dict[str, Any]) -> int:
    with engine.begin() as conn:
        return store.create_rule(conn, parse_rule(spec), TEST_ACTOR).rule_id


def series_id(conn: Connection, node: str, indicator: str) -> int:
    """The id of the series of `indicator` at `node` (every node has one per indicator)."""
    return int(
        conn.execute(
            text("SELECT series_id FROM series WHERE node_id = :n AND indicator_code = :i"),
            {"n": node, "i": indicator},
        ).scalar_one()
    )


def put_value(engine: Engine, node: str, indicator: str, value: float, at: datetime = NOW) -> None:
    """A metric point that is also the series' latest value."""
    params: dict[str, Any] = {"v": value, "t": at}
    with engine.begin() as conn:
        params["s"] = series_id(conn, node, indicator)
        conn.execute(
            text(
                "INSERT INTO metric_point (time, series_id, value) VALUES (:t, :s, :v)"
                " ON CONFLICT (series_id, time) DO UPDATE SET value = EXCLUDED.value"
            ),
            params,
        )
        conn.execute(
            text(
                "INSERT INTO series_latest (series_id, time, value) VALUES (:s, :t, :v)"
                " ON CONFLICT (series_id) DO UPDATE SET time = EXCLUDED.time, value = EXCLUDED.value"
            ),
            params,
        )


def rows(engine: Engine, sql: str, **params: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(text(sql), params).mappings()]


def instances(engine: Engine) -> list[dict[str, Any]]:
    return rows(engine, "SELECT * FROM alert_instance ORDER BY node_id, fingerprint")


def outbox(engine: Engine) -> list[dict[str, Any]]:
    return rows(engine, "SELECT * FROM alert_event ORDER BY event_id")


def history(engine: Engine) -> list[dict[str, Any]]:
    return rows(engine, "SELECT * FROM alert_history ORDER BY history_id")
