"""Seeded synthetic hourly series shared by the forecaster tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest


def hourly_series(
    n: int = 21 * 24, seed: int = 0, start: str = "2025-03-01", level: float = 20.0
) -> pd.DataFrame:
    """Trend + 24 h + 168 h sinusoids + N(0, 1.5) noise, like reference/forecasting.md."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = (
        level
        + 0.01 * t
        + 5 * np.sin(2 * np.pi * t / 24)
        + 3 * np.sin(2 * np.pi * t / 168)
        + rng.normal(0, 1.5, n)
    )
    return pd.DataFrame({"ds": pd.date_range(start, periods=n, freq="h"), "y": y})


@pytest.fixture(scope="session")
def make_series() -> Callable[..., pd.DataFrame]:
    """``make_series(n=504, seed=0, start="2025-03-01", level=20.0) -> DataFrame[ds, y]``."""
    return hourly_series


def _series_id(conn, node_id: str, indicator: str) -> int:
    from sqlalchemy import text

    return int(
        conn.execute(
            text("SELECT series_id FROM series WHERE node_id = :n AND indicator_code = :i"),
            {"n": node_id, "i": indicator},
        ).scalar_one()
    )


@pytest.fixture
def write_hourly(engine) -> Callable[..., int]:
    """``write_hourly(node_id, indicator, values, end)``: one metric_hourly row per value, the
    last at ``end - 1 h`` (UTC); returns the series id."""
    from sqlalchemy import text

    def write(node_id: str, indicator: str, values, end: pd.Timestamp) -> int:
        buckets = pd.date_range(end=end - pd.Timedelta(hours=1), periods=len(values), freq="h")
        with engine.begin() as conn:
            sid = _series_id(conn, node_id, indicator)
            conn.execute(
                text(
                    "INSERT INTO metric_hourly (bucket, series_id, avg, min, max, last, sum, n)"
                    " VALUES (:b, :s, :v, :v, :v, :v, :v, 1)"
                    " ON CONFLICT (series_id, bucket) DO UPDATE SET avg = EXCLUDED.avg"
                ),
                [
                    {"b": b.to_pydatetime(), "s": sid, "v": float(v)}
                    for b, v in zip(buckets, values, strict=True)
                ],
            )
        return sid

    return write


@pytest.fixture
def write_lot(engine) -> Callable[..., None]:
    """``write_lot(lot_id, site_id, hazard_class, arrived_at, **stage_times)``; the lot
    trigger sets ``deadline_at`` from the storage limits."""
    from sqlalchemy import text

    def write(lot_id: str, site_id: str, hazard_class: str | None, arrived_at, **times) -> None:
        columns = ["lot_id", "site_id", "hazard_class", "arrived_at", *times]
        values = {"lot_id": lot_id, "site_id": site_id, "hazard_class": hazard_class}
        values.update({"arrived_at": arrived_at, **times})
        with engine.begin() as conn:
            conn.execute(
                text(
                    f"INSERT INTO lot ({', '.join(columns)})"
                    f" VALUES ({', '.join(':' + c for c in columns)})"
                ),
                {
                    k: (v.floor("us").to_pydatetime() if isinstance(v, pd.Timestamp) else v)
                    for k, v in values.items()
                },
            )

    return write
