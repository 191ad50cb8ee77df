"""Where ``fit_many`` runs its fits: a local process pool, or a Dask cluster; writes nothing.

``open_pool(workers, scheduler=...)`` yields a ``Pool``: a ``concurrent.futures.Executor`` and
how many fits it runs at once. ``scheduler`` is ``Settings.dask_scheduler``:

- ``""`` (the default): a ``ProcessPoolExecutor`` of ``workers`` processes on this machine;
- ``"local"``: a ``distributed.LocalCluster`` of ``workers`` single-threaded processes on
  127.0.0.1, started for this one run and closed after it (one machine, Dask's retries);
- any other value, e.g. ``"tcp://10.0.0.5:8786"``: a ``distributed.Client`` to that scheduler.
  Its workers must have this package installed (the tasks are pickled by reference).

On Dask, a worker that dies has its tasks retried on another worker by the scheduler (up to
``distributed.scheduler.allowed-failures``, 3 by default); a task that keeps killing workers
ends in ``KilledWorker``, which ``fit_many`` records for that series alone. Dask workers have no
per-process initializer hook short of a worker plugin, so the pool's ``initializer`` runs
before each task there (``silence_stan_logging`` is idempotent and costs microseconds).

``distributed`` is imported inside ``dask_pool`` only: importing it costs ~1 s and starts
nothing, but the local path should not pay for it (STYLE G7).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

LOCAL = "local"
"""``Settings.dask_scheduler`` value that starts a ``LocalCluster`` for the run."""

CONNECT_TIMEOUT_S = 30
"""How long to wait for a remote scheduler before the cycle fails (Dask's default is 30 s)."""

T = TypeVar("T")


@dataclass(frozen=True)
class Pool:
    """An executor and its parallelism; ``initializer`` (Dask only) runs before each task."""

    executor: Executor
    slots: int
    initializer: Callable[[], None] | None = None

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        if self.initializer is None:
            return self.executor.submit(fn, *args)
        return self.executor.submit(_initialized, self.initializer, fn, *args)


def _initialized(initializer: Callable[[], None], fn: Callable[..., T], *args: Any) -> T:
    initializer()
    return fn(*args)


def open_pool(
    workers: int,
    *,
    scheduler: str = "",
    start_method: str = "forkserver",
    initializer: Callable[[], None] | None = None,
) -> AbstractContextManager[Pool]:
    """The local process pool when ``scheduler`` is empty, else a Dask pool (see module)."""
    if scheduler:
        return dask_pool(scheduler, workers, initializer)
    return process_pool(workers, start_method, initializer)


@contextmanager
def process_pool(
    workers: int, start_method: str, initializer: Callable[[], None] | None
) -> Iterator[Pool]:
    ctx = multiprocessing.get_context(start_method)
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=initializer) as pool:
        yield Pool(pool, workers)


@contextmanager
def dask_pool(
    scheduler: str, workers: int, initializer: Callable[[], None] | None
) -> Iterator[Pool]:
    """A Dask pool on ``scheduler`` (an address, or ``"local"`` for a ``LocalCluster`` of
    ``workers`` processes). Closes the client, and the cluster it started, on exit."""
    from distributed import Client, LocalCluster

    with ExitStack() as stack:
        if scheduler == LOCAL:
            cluster = LocalCluster(
                n_workers=max(1, workers),
                threads_per_worker=1,  # fits are GIL-bound: one per process, as locally
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",  # any free port: 8787 may be taken
            )
            stack.enter_context(cluster)
            client = stack.enter_context(Client(cluster))
        else:
            client = stack.enter_context(Client(scheduler, timeout=CONNECT_TIMEOUT_S))
        slots = sum(client.nthreads().values()) or max(1, workers)
        yield Pool(client.get_executor(pure=False), slots, initializer)
