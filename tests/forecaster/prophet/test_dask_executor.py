from __future__ import annotations

import os
import signal
import threading
import time

import pandas as pd
import pytest

from forecaster.prophet.batch import FAST_CONFIG, fit_many

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.timeout(120)

WEEK = 7 * 24  # tiny series keep a fit at ~0.1 s, so the file stays well under a minute


def start_cluster():
    cluster = distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    )
    return cluster, distributed.Client(cluster)


@pytest.fixture(scope="module")
def cluster():
    cluster, client = start_cluster()
    yield cluster
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def series(make_series):
    return [(f"site-{i}", make_series(n=WEEK, seed=i)) for i in range(4)]


def test_dask_results_equal_the_local_pool_for_the_same_series(cluster, series):
    local = fit_many(series, FAST_CONFIG, workers=2, horizon_hours=24)
    remote = fit_many(
        series, FAST_CONFIG, workers=2, horizon_hours=24, scheduler=cluster.scheduler_address
    )
    assert list(remote) == [key for key, _ in series]
    for key, result in remote.items():
        assert result.ok, result.error
        assert result.forecast["yhat"].tolist() == pytest.approx(
            local[key].forecast["yhat"].tolist(), abs=1e-6
        )
        assert result.forecast["ds"].tolist() == local[key].forecast["ds"].tolist()
        assert result.warm_start == pytest.approx(local[key].warm_start, abs=1e-6)


def test_a_series_that_raises_on_dask_is_failed_while_the_others_succeed(cluster, series):
    broken = ("broken", pd.DataFrame({"ds": [1, 2, 3], "value": [1.0, 2.0, 3.0]}))
    results = fit_many(
        [series[0], broken, series[1]],
        workers=2,
        horizon_hours=24,
        scheduler=cluster.scheduler_address,
    )
    assert list(results) == ["site-0", "broken", "site-1"]
    assert results["broken"].error.startswith("ValueError: history needs")
    assert results["site-0"].ok and results["site-1"].ok


def test_a_killed_worker_still_leaves_a_result_or_a_failure_for_every_series(make_series):
    cluster, client = start_cluster()
    try:
        pids = client.run(os.getpid)
        keys = [f"site-{i}" for i in range(8)]
        many = [(key, make_series(n=3 * WEEK, seed=i)) for i, key in enumerate(keys)]
        out: dict = {}
        run = threading.Thread(
            target=lambda: out.update(
                fit_many(many, workers=2, horizon_hours=24, scheduler=cluster.scheduler_address)
            )
        )
        run.start()
        victim = _busy_worker(client)
        os.kill(pids[victim], signal.SIGKILL)
        run.join(timeout=90)
        assert not run.is_alive(), "fit_many hung after a worker was killed"
        assert pids[victim] not in client.run(os.getpid).values()  # the kill did land
    finally:
        client.close()
        cluster.close()
    assert list(out) == keys
    for key, result in out.items():
        assert result.ok or "KilledWorker" in (result.error or ""), (key, result.error)
    assert sum(result.ok for result in out.values()) >= len(keys) - 2


def _end_the_worker(test_process: int) -> KillsItsWorker:
    """Ends any process that unpickles it but this test's own (the client may unpickle task
    arguments too), where it stays a harmless object."""
    if os.getpid() != test_process:
        os._exit(1)
    return KillsItsWorker()


class KillsItsWorker:
    """A series that kills every worker it is given, like a segfault in cmdstan would."""

    def __reduce__(self):
        return (_end_the_worker, (os.getpid(),))


def test_a_series_that_kills_every_worker_fails_alone_as_killed_worker(make_series):
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster, client = start_cluster()
    try:
        series = [("site-0", make_series(n=WEEK)), ("poison", KillsItsWorker())]
        series.append(("site-1", make_series(n=WEEK, seed=1)))
        results = fit_many(series, workers=2, horizon_hours=24, scheduler=cluster.scheduler_address)
    finally:
        client.close()
        cluster.close()
    assert results["poison"].error.startswith("KilledWorker")
    assert results["site-0"].ok and results["site-1"].ok


def _busy_worker(client, timeout: float = 30.0) -> str:
    """The address of a worker with a task in progress, so the kill lands mid-run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = [address for address, tasks in client.processing().items() if tasks]
        if busy:
            return busy[0]
        time.sleep(0.05)
    raise AssertionError("no worker started a task")
