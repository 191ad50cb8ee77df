"""The forecast cycle with its fits on a real Dask ``LocalCluster`` (worker processes over TCP
on 127.0.0.1): the same forecasts as the local pool, and the same one-replica lock."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from forecaster import store
from forecaster.cycle import LOCK, CycleOptions, run_cycle

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.timeout(180)

END = pd.Timestamp("2026-04-10 10:00", tz="UTC")
NOW = (END + pd.Timedelta(minutes=20)).to_pydatetime()
LOCAL = CycleOptions(workers=1)


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    ) as cluster:
        yield cluster


@pytest.fixture
def two_series(write_hourly) -> list[int]:
    n = 10 * 24
    t = np.arange(n)
    return [
        write_hourly("4202-QIANWAN", "hazardous_lots_held", 2 + 0.05 * t + np.sin(t / 3.8), END),
        write_hourly("2201-YANGSHAN", "lots_on_site", 20 + 3 * np.sin(2 * np.pi * t / 24), END),
    ]


def forecasts(engine, series: list[int]) -> dict[int, pd.DataFrame]:
    with engine.connect() as conn:
        return store.latest_forecasts(conn, series)


def forget_models(engine) -> None:
    """So the next cycle refits instead of reusing the unchanged windows."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM forecast_model"))


def test_a_cycle_on_dask_stores_the_forecasts_the_local_pool_stores(
    engine, settings, two_series, cluster
):
    local = run_cycle(engine, settings, NOW, options=LOCAL)
    on_local_pool = forecasts(engine, two_series)
    forget_models(engine)
    on_dask = dataclasses.replace(LOCAL, workers=2, scheduler=cluster.scheduler_address)
    remote = run_cycle(engine, settings, NOW, options=on_dask)
    assert (remote.series_ok, remote.series_failed) == (local.series_ok, 0) == (2, 0)
    for sid, frame in forecasts(engine, two_series).items():
        assert frame["ds"].tolist() == on_local_pool[sid]["ds"].tolist()
        for column in ("yhat", "yhat_lower", "yhat_upper"):
            assert frame[column].tolist() == pytest.approx(
                on_local_pool[sid][column].tolist(), abs=1e-6
            )


def test_the_scheduler_setting_sends_the_cycle_to_dask(engine, settings, two_series, cluster):
    on_dask = settings.replace(dask_scheduler=cluster.scheduler_address)
    with distributed.Client(cluster) as client:
        before = sum(client.run(_fits_done).values())
        summary = run_cycle(engine, on_dask, NOW)
        assert summary.series_ok == 2
        assert sum(client.run(_fits_done).values()) >= before + 2


def test_a_cycle_on_dask_still_waits_for_the_replica_holding_the_lock(
    engine, settings, two_series, cluster
):
    on_dask = dataclasses.replace(LOCAL, scheduler=cluster.scheduler_address)
    with engine.connect() as other, other.begin():
        other.execute(text("SELECT pg_advisory_xact_lock(hashtext(:n))"), {"n": LOCK})
        assert run_cycle(engine, settings, NOW, options=on_dask).run_id is None
    assert run_cycle(engine, settings, NOW, options=on_dask).series_ok == 2


def test_a_cluster_without_workers_fails_the_series_instead_of_hanging_the_cycle(
    engine, settings, two_series
):
    with distributed.LocalCluster(
        n_workers=0, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0"
    ) as empty:
        options = CycleOptions(workers=2, scheduler=empty.scheduler_address, stall_timeout_s=2)
        summary = run_cycle(engine, settings, NOW, options=options)
    assert (summary.series_ok, summary.series_failed) == (0, 2)
    assert all("TimeoutError" in reason for _, _, reason in summary.failures)
    assert run_cycle(engine, settings, NOW, options=LOCAL).series_ok == 2  # retried next cycle


def _fits_done(dask_worker=None) -> int:
    """Tasks this worker has finished, as Dask counts them."""
    return int(dask_worker.state.executed_count) if dask_worker is not None else 0
