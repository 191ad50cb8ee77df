"""Fixtures for the risk screening tests: declaration bodies, a small normal history at one
site, and storage through the one ingest path (collector.risk.store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from collector.events import TimePolicy
from collector.risk.declarations import parse_declarations
from collector.risk.simulation.simulator import RATES
from collector.risk.store import SaveResult, save_declarations
from quaywatch.db import raw_connection
from tests.collector.helpers import select_all, select_one

NOW = datetime.now(UTC).replace(microsecond=0)
SITE = "5304-SHEKOU"


class RiskKit:
    """Builds declarations and stores them; `history` gives one site a normal past."""

    site = SITE

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def declaration(self, n: int, **overrides: Any) -> dict[str, Any]:
        # Unit values 595..805 CNY around 700 and 0.5 kg per unit: a tight, normal spread.
        price = 700 * (1 + 0.05 * ((n % 7) - 3))
        body: dict[str, Any] = {
            "declaration_id": f"D{n:05d}",
            "declared_at": (NOW - timedelta(hours=20) + timedelta(minutes=n)).isoformat(),
            "site_id": SITE,
            "trader_id": "T1",
            "hs_code": "85171300",
            "origin": "VN",
            "declared_value": round(price * 10, 2),
            "currency": "CNY",
            "quantity": 10,
            "unit": "PCS",
            "gross_kg": 5.5,
            "net_kg": 5.0,
        }
        body.update(overrides)
        return body

    def store(self, items: list[dict[str, Any]]) -> SaveResult:
        valid, errors = parse_declarations(items, TimePolicy(), RATES | {"CNY": 1.0})
        assert not errors, errors
        with raw_connection(self.engine) as conn:
            return save_declarations(conn, [d.as_row("test", NOW) for d in valid])

    def history(self, count: int = 40) -> None:
        """`count` normal declarations; T1 makes most of them, T2..T4 the rest."""
        traders = ["T1", "T1", "T1", "T2", "T3", "T4"]
        self.store([self.declaration(n, trader_id=traders[n % 6]) for n in range(count)])

    def flags(self, declaration_id: str) -> dict[str, dict[str, Any]]:
        rows = select_all(
            self.engine,
            "SELECT feature, rule_id, flag_id, score, observed, expected, reference, reason"
            " FROM risk_flag WHERE declaration_id = :id",
            id=declaration_id,
        )
        return {
            (r.feature if r.feature != "rule" else f"rule:{r.rule_id}"): dict(r._mapping)
            for r in rows
        }

    def mark(self, declaration_id: str) -> tuple[Any, ...]:
        sql = "SELECT risk_score, risk_features, risk_rules FROM declaration WHERE declaration_id = :id"
        return tuple(select_one(self.engine, sql, id=declaration_id))


@pytest.fixture
def risk(engine: Engine) -> RiskKit:
    return RiskKit(engine)
