"""Fit and forecast many series per cycle on a process pool or Dask; one bad series never stops it.

Budget: ~1,500 series every cycle within 5 minutes on 2 cores, i.e. <= 400 ms of CPU per
series. The cheapest correct configuration, from the measurements in
shared/reference/forecasting.md §1 and our own (figures below):

- LBFGS, Prophet's choice at >= 100 points. Newton is 17x slower at 672 points here (1.9 s).
- ``uncertainty_samples=0`` and the analytic band of ``model.predict``. Monte-Carlo
  sampling is most of predict time, and the analytic band is the normal approximation of
  the same MAP band.
- Predict only the horizon rows (``include_history=False`` in Prophet's terms).
- Processes, not threads: fits are GIL-bound in Python and cmdstan runs as a subprocess
  (threads: 150 vs 156 ms per series, §1.3). Each worker imports prophet and silences logging
  once, in the initializer.
- No shared future frame: building a 48-row grid takes microseconds, and series end at
  different hours anyway.
- Warm start from the previous cycle's ``warm_start_params`` when the caller has them: about
  30 % less CPU per fit when the 672-point window moved by one hour (docs/benchmarks.md).

Measured on this machine (2 vCPU AMD EPYC, prophet 1.5.0, pandas 3.1.1; 672 hourly points = a
28-day window, 48 h horizon, median of 30 synthetic series; run while other jobs were using
about one core, so read the ratios more than the absolute values):

    per series                               fit ms  predict ms  total ms  CPU ms  80 % cover
    default Prophet (us=1000, hist+48 rows)      81        111       189     185        0.78
    this fast path (us=0, analytic, 48 rows)     82         17        99     100        0.79
    same with Monte-Carlo us=100                 86         32       117       -        0.79
    fast path, warm start after +24 h             -          -       108       -           -
    fast path, Spring Festival in the window      -          -       167       -           -

CPU ms counts the cmdstan subprocess. 100 ms of CPU per series is 150 CPU-seconds for 1,500
series: ~75 s on two idle cores, 188 s measured here with only ~1 core free (``fit_many``, 2
workers, 120 series, 126 ms/series wall including a 2-4 s pool start). The fit floor is the
cmdstan subprocess plus its JSON input, so the next saving is to fit less often and predict more
often from stored models (predict alone: 17 ms; ``from_json`` 12 ms for a 110 KiB model).

Since these figures: ``speedups`` (Stan input written without ``stanio``, numpy features and
predict) brought the fast path to ~70-90 ms of CPU per series against ~200 ms for the default
loop, and the cycle skips series whose window did not change; current figures are in
docs/forecasting.md §6 and docs/benchmarks.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import Any

import pandas as pd

from forecaster.errors import ForecastSkipped
from forecaster.prophet.executors import Pool, open_pool
from forecaster.prophet.model import (
    ProphetConfig,
    fit,
    predict,
    silence_stan_logging,
    warm_start_params,
)
from forecaster.prophet.stored_fit import fit_state, forecast_from_stored

FAST_CONFIG = ProphetConfig(uncertainty_samples=0)
"""The speed-path settings (the ``ProphetConfig`` defaults, spelled out)."""


@dataclass(frozen=True)
class SeriesResult:
    """Outcome for one series; exactly one of ``forecast``, ``skipped``, ``error`` is set.

    :param key: the caller's series key.
    :param forecast: ``ds, yhat, yhat_lower, yhat_upper`` rows for the horizon.
    :param warm_start: parameters to store and pass back next cycle.
    :param skipped: ``ForecastSkipped.reason`` (too little data): expected, not a failure.
    :param error: ``"ExceptionType: message"`` for anything else.
    :param seconds: wall time of fit + predict in the worker.
    :param fit_state: the new fit's frame (``stored_fit.fit_state``) to store with
        ``warm_start``; None when the forecast came from the stored fit.
    :param refreshed: the forecast came from the stored fit, without optimising.
    """

    key: Hashable
    forecast: pd.DataFrame | None = None
    warm_start: dict[str, Any] | None = None
    skipped: str | None = None
    error: str | None = None
    seconds: float = 0.0
    fit_state: dict[str, Any] | None = None
    refreshed: bool = False

    @property
    def ok(self) -> bool:
        return self.forecast is not None


def forecast_one(
    key: Hashable,
    history: pd.DataFrame,
    cfg: ProphetConfig = FAST_CONFIG,
    horizon_hours: int = 48,
    warm_start: dict[str, Any] | None = None,
    stored_fit: dict[str, Any] | None = None,
) -> SeriesResult:
    """Fit + predict one series; never raises (the exception becomes ``error``). With
    ``stored_fit`` (the ``fit_state`` stored with ``warm_start``) the forecast comes from that
    fit on this window (``stored_fit.forecast_from_stored``), unless the fit no longer
    describes it."""
    start = time.perf_counter()
    try:
        if stored_fit is not None and warm_start:
            try:
                forecast = forecast_from_stored(history, cfg, warm_start, stored_fit, horizon_hours)
                seconds = time.perf_counter() - start
                return SeriesResult(key, forecast, warm_start, seconds=seconds, refreshed=True)
            except Exception:  # StaleFit, or a damaged stored frame: fitted below instead
                pass
        model = fit(history, cfg, warm_start)
        forecast = predict(model, horizon_hours)
        params, state = warm_start_params(model), fit_state(model)
    except ForecastSkipped as exc:
        return SeriesResult(key, skipped=exc.reason, seconds=time.perf_counter() - start)
    except Exception as exc:  # any failure of one series is recorded, not raised
        error = f"{type(exc).__name__}: {exc}"
        return SeriesResult(key, error=error, seconds=time.perf_counter() - start)
    return SeriesResult(key, forecast, params, seconds=time.perf_counter() - start, fit_state=state)


def _init_worker() -> None:
    silence_stan_logging()
    import prophet  # noqa: F401 - pay the ~0.7 s import once per worker, not in the first task


def fit_many(
    series: Iterable[tuple[Hashable, pd.DataFrame]],
    cfg: ProphetConfig = FAST_CONFIG,
    workers: int = 2,
    *,
    horizon_hours: int = 48,
    warm_starts: Mapping[Hashable, dict[str, Any]] | None = None,
    stored_fits: Mapping[Hashable, dict[str, Any]] | None = None,
    max_in_flight: int | None = None,
    start_method: str = "forkserver",
    scheduler: str = "",
    stall_timeout_s: float | None = None,
) -> dict[Hashable, SeriesResult]:
    """Forecast every ``(key, history)`` and return ``{key: SeriesResult}`` in input order.

    ``series`` may be a lazy generator (e.g. rows streamed from the database): at most
    ``max_in_flight`` (default ``4 *`` the pool's parallelism) histories are held at a time.
    ``workers <= 1`` without a ``scheduler`` runs in this process. The default start method is
    ``forkserver``, not ``fork``, because forking a process that runs scheduler threads is
    unsafe. Like ``spawn``, it needs an ``if __name__ == "__main__":`` guard in the calling
    script. Pool start measured 2.2 s (spawn: 4.4 s). If a local worker dies
    (``BrokenProcessPool``), the affected and all later series are recorded as errors.

    ``scheduler`` (``Settings.dask_scheduler``) runs the fits on Dask instead
    (``executors.open_pool``): same tasks, same results; a dead worker's series are retried
    elsewhere, or recorded one by one as ``KilledWorker`` errors. ``stall_timeout_s``: when no
    series finishes for that long (a cluster without workers), every unfinished series is
    recorded as a ``TimeoutError`` and the rest are not run. Keys must be unique.
    ``stored_fits``: the keys to forecast from their stored fit rather than fit again
    (``forecast_one``), each with its ``fit_state``; their ``warm_starts`` are the fit's.
    """
    # Not ``or {}``: the cycle fills its (empty) stored_fits while ``series`` is consumed.
    warm = warm_starts or {}
    fits = {} if stored_fits is None else stored_fits
    if workers <= 1 and not scheduler:
        silence_stan_logging()
        return {
            k: forecast_one(k, df, cfg, horizon_hours, warm.get(k), fits.get(k)) for k, df in series
        }
    with open_pool(
        workers, scheduler=scheduler, start_method=start_method, initializer=_init_worker
    ) as pool:
        batch = _Batch(pool, max_in_flight or 4 * pool.slots, stall_timeout_s)
        for key, history in series:
            args = (key, history, cfg, horizon_hours, warm.get(key), fits.get(key))
            batch.add(key, forecast_one, *args)
        return batch.finish()


class _Batch:
    """Submits with at most ``limit`` in flight; collects results and per-series errors."""

    def __init__(self, pool: Pool, limit: int, stall_timeout_s: float | None) -> None:
        self.pool, self.limit, self.stall = pool, limit, stall_timeout_s
        self.pending: dict[Future[SeriesResult], Hashable] = {}
        self.results: dict[Hashable, SeriesResult] = {}
        self.order: list[Hashable] = []
        self.stalled = False

    def add(self, key: Hashable, fn: Callable[..., SeriesResult], *args: Any) -> None:
        self.order.append(key)
        if len(self.pending) >= self.limit:
            self._collect_some()
        if self.stalled:
            self.results[key] = SeriesResult(key, error=f"TimeoutError: {self._stall_text()}")
            return
        try:
            job = self.pool.submit(fn, *args)
        except Exception as exc:  # a broken pool refuses new work
            self.results[key] = SeriesResult(key, error=f"{type(exc).__name__}: {exc}")
            return
        self.pending[job] = key

    def finish(self) -> dict[Hashable, SeriesResult]:
        while self.pending and not self.stalled:
            self._collect_some()
        for job, key in self.pending.items():  # only left when stalled
            job.cancel()
            self.results[key] = SeriesResult(key, error=f"TimeoutError: {self._stall_text()}")
        self.pending.clear()
        return {key: self.results[key] for key in self.order}

    def _collect_some(self) -> None:
        done = wait(self.pending, timeout=self.stall, return_when=FIRST_COMPLETED).done
        self.stalled = not done
        _collect(done, self.pending, self.results)

    def _stall_text(self) -> str:
        return f"no series finished within {self.stall:g} s; not run"


def _collect(
    done: Iterable[Future[SeriesResult]],
    pending: dict[Future[SeriesResult], Hashable],
    results: dict[Hashable, SeriesResult],
) -> None:
    for job in done:
        key = pending.pop(job)
        try:
            results[key] = job.result()
        except Exception as exc:  # BrokenProcessPool when a worker dies; KilledWorker on Dask
            results[key] = SeriesResult(key, error=f"{type(exc).__name__}: {exc}")
