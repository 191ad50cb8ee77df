"""One forecast cycle: every forecastable series, its threshold crossings, every held lot.

Steps (one replica at a time, under the ``forecaster.cycle`` advisory lock):

1. record a ``forecast_run``;
2. stream each series' window from ``metric_hourly`` (``series``); a window identical to the
   one the stored model saw (``data_hash``) is *reused*: its forecast stands, so the three
   cycles inside each hour cost no fits (fit less often, predict from what is stored);
3. forecast the rest on a process pool (``prophet.batch.fit_many``): a series whose fit is
   under ``refit_hours`` old is *refreshed*, forecast from that fit without optimising
   (``prophet.stored_fit``; refits are staggered, about one series in ``refit_hours`` an hour),
   the others are fitted, warm-started from the stored parameters; a failing series is
   recorded in ``forecast_failure`` and skipped;
4. for each threshold a rule watches (``targets``), the first crossing under the indicator's
   decision rule, with lead and calibrated probability (``decision``), from the forecast its
   champion reads: Prophet's, a seasonal naive's, a blend of Prophet with a baseline, or
   Prophet's where a seasonal naive warns too (``champion_forecasts``); bands are widened by
   the decision's conformal factor;
5. for every held hazardous lot, P(breach) from stage-conditioned dwell times stretched by the
   site's forecast congestion (``lot_risk``);
6. write it all in one transaction (the alerter sees whole runs only), prune old rows.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from forecaster import store
from forecaster.breach import lot_risk
from forecaster.crossings.champion_forecasts import warning_forecasts
from forecaster.crossings.decision import (
    DEFAULT_RULE,
    Decision,
    DecisionRule,
    agreed,
    decide,
    published,
)
from forecaster.prophet.batch import FAST_CONFIG, SeriesResult, fit_many
from forecaster.prophet.model import ProphetConfig
from forecaster.prophet.stored_fit import refit_due
from forecaster.series import (
    SeriesKey,
    data_hash,
    forecastable_series,
    hour_floor,
    load_histories,
    utc_instants,
)
from forecaster.targets import Target, targets_for
from quaywatch.db import try_advisory_lock
from quaywatch.settings import Settings

log = logging.getLogger(__name__)
LOCK = "forecaster.cycle"


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)))


@dataclass(frozen=True)
class CycleOptions:
    """Cycle settings; the defaults are the production ones (docs/forecasting.md)."""

    window_days: int = 28
    horizon_hours: int = 48
    max_horizon_hours: int = 168  # a forecast rule may ask for more, up to a week
    workers: int = field(default_factory=default_workers)
    config: ProphetConfig = FAST_CONFIG
    # A changed window is refitted at most this many hours apart (staggered over the series);
    # in between its forecast comes from its stored fit (prophet.stored_fit). 0: every time.
    refit_hours: int = 12
    dwell_days: int = 28
    forecast_retention_days: int = 3
    prediction_retention_days: int = 3  # ~1M lot rows a day at national scale
    run_retention_days: int = 30
    # Settings.dask_scheduler: "" fits on a local process pool, "local" on a LocalCluster,
    # an address on that Dask cluster (forecaster.prophet.executors).
    scheduler: str = ""
    # On Dask only: when no series finishes for this long (a cluster without workers), the
    # unfinished ones are recorded as failures and retried next cycle instead of hanging it.
    stall_timeout_s: float = 600.0

    def fingerprint(self, horizon: int) -> str:
        """Salt of the data hash: a changed model setting or horizon forces a refit."""
        return f"{dataclasses.asdict(self.config)}|{horizon}"


@dataclass
class CycleSummary:
    """What a cycle did. ``run_id`` is None when another replica held the lock."""

    run_id: int | None = None
    series_total: int = 0
    series_ok: int = 0
    series_reused: int = 0
    series_refreshed: int = 0
    series_skipped: int = 0
    series_failed: int = 0
    crossings: int = 0
    lots_scored: int = 0
    seconds: float = 0.0
    failures: list[tuple[int, str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        names = "series_total series_ok series_reused series_refreshed series_skipped"
        names += " series_failed"
        return {n: getattr(self, n) for n in (*names.split(), "crossings", "lots_scored")}


@dataclass
class _Work:
    """State carried between the steps of one cycle."""

    now: datetime
    since: datetime
    until: datetime
    horizon: int
    keys: dict[int, SeriesKey]
    stored: dict[int, store.StoredModel]
    salt: str
    origins: dict[int, pd.Timestamp] = field(default_factory=dict)
    windows: dict[int, tuple[str, int]] = field(default_factory=dict)  # data hash, points
    congestion_history: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)
    # Windows of the series whose champion reads a baseline, for the crossings step (one read)
    baseline_readers: frozenset[int] = frozenset()
    baseline_windows: dict[int, pd.DataFrame] = field(default_factory=dict)
    reused: list[int] = field(default_factory=list)
    refresh: dict[Hashable, dict[str, Any]] = field(default_factory=dict)  # sid: its fit_state
    refit_hours: int = 0


def run_cycle(
    engine: Engine,
    settings: Settings,
    now: datetime | None = None,
    sites: Sequence[str] | None = None,
    indicators: Sequence[str] | None = None,
    *,
    options: CycleOptions | None = None,
) -> CycleSummary:
    """Run one cycle at ``now`` (default: the current time) for the given node ids and
    indicator codes (default: all). Returns its summary; never raises for one bad series."""
    opts = options or CycleOptions(
        scheduler=settings.dask_scheduler, refit_hours=settings.forecast_refit_hours
    )
    began = time.perf_counter()
    now = now or datetime.now(UTC)
    with engine.connect() as lock_conn, lock_conn.begin():
        if not try_advisory_lock(lock_conn, LOCK):
            log.info("forecast cycle skipped: another replica holds %s", LOCK)
            return CycleSummary()
        summary = _locked_cycle(engine, opts, now, sites, indicators)
    summary.seconds = time.perf_counter() - began
    log.info("forecast cycle %s: %s in %.1f s", summary.run_id, summary.counts(), summary.seconds)
    return summary


def _locked_cycle(
    engine: Engine,
    opts: CycleOptions,
    now: datetime,
    sites: Sequence[str] | None,
    indicators: Sequence[str] | None,
) -> CycleSummary:
    until = hour_floor(now)
    since = until - timedelta(days=opts.window_days)
    with engine.begin() as conn:
        run_id = store.start_run(conn, now, _config(opts, sites, indicators))
        keys = forecastable_series(
            conn,
            since,
            until,
            min_points=opts.config.min_history_points,
            nodes=sites,
            indicators=indicators,
        )
        ids = [k.series_id for k in keys]
        targets, decisions = targets_for(conn, ids), store.load_decisions(conn)
        stored = store.stored_models(conn, ids)
    horizon = _horizon(opts, targets)
    work = _Work(
        now,
        since,
        until,
        horizon,
        {k.series_id: k for k in keys},
        stored,
        opts.fingerprint(horizon),
        refit_hours=opts.refit_hours,
        baseline_readers=frozenset(
            k.series_id
            for k in keys
            if k.series_id in targets
            and decisions.get(k.indicator_code, DEFAULT_RULE).baseline is not None
        ),
    )
    summary = CycleSummary(run_id, series_total=len(keys))
    with engine.connect() as reader:
        results = fit_many(
            _to_fit(reader, work),
            opts.config,
            opts.workers,
            horizon_hours=horizon,
            warm_starts={s: m.warm_start for s, m in stored.items() if m.warm_start},
            stored_fits=work.refresh,
            scheduler=opts.scheduler,
            stall_timeout_s=opts.stall_timeout_s if opts.scheduler else None,
        )
    with engine.begin() as conn:
        forecasts = _save_fits(conn, run_id, work, results, summary, decisions)
        forecasts.update(_reused_forecasts(conn, work, summary))
        summary.crossings = _save_crossings(conn, run_id, work, forecasts, targets, decisions)
        _score_lots(conn, run_id, work, forecasts, sites, opts, summary)
        store.prune(
            conn,
            now,
            forecast_days=opts.forecast_retention_days,
            prediction_days=opts.prediction_retention_days,
            run_days=opts.run_retention_days,
        )
        store.finish_run(conn, run_id, datetime.now(UTC), summary.counts())
    return summary


def _config(
    opts: CycleOptions, sites: Sequence[str] | None, indicators: Sequence[str] | None
) -> dict[str, object]:
    return {
        **{k: v for k, v in dataclasses.asdict(opts).items() if k != "config"},
        "prophet": dataclasses.asdict(opts.config),
        "sites": list(sites or []),
        "indicators": list(indicators or []),
    }


def _horizon(opts: CycleOptions, targets: dict[int, list[Target]]) -> int:
    """The default horizon, or the longest a forecast rule asks for (capped)."""
    asked = [t.horizon_hours for ts in targets.values() for t in ts if t.horizon_hours]
    longest = int(-(-max(asked, default=0) // 1))
    return min(max(opts.horizon_hours, longest), opts.max_horizon_hours)


def _to_fit(reader: Connection, work: _Work) -> Iterator[tuple[Hashable, pd.DataFrame]]:
    """Windows that changed since their last fit; remembers origins and congestion inputs."""
    keys = list(work.keys.values())
    for key, history in load_histories(reader, keys, work.since, work.until):
        work.origins[key.series_id] = utc_instants(history["ds"].to_numpy()[-1:], key.timezone)[0]
        if key.level == "site" and key.indicator_code in (lot_risk.QUEUE, lot_risk.FLOW):
            work.congestion_history[(key.node_id, key.indicator_code)] = history
        if key.series_id in work.baseline_readers:
            work.baseline_windows[key.series_id] = history
        digest = data_hash(history, work.salt)
        work.windows[key.series_id] = (digest, len(history))
        previous = work.stored.get(key.series_id)
        if previous is not None and previous.data_hash == digest:
            work.reused.append(key.series_id)
            continue
        if previous is not None and previous.fit_state and previous.warm_start:
            origin = work.origins[key.series_id].to_pydatetime()
            if not refit_due(key.series_id, previous.history_end, origin, work.refit_hours):
                work.refresh[key.series_id] = previous.fit_state
        yield key.series_id, history


def _save_fits(
    conn: Connection,
    run_id: int,
    work: _Work,
    results: dict[Hashable, SeriesResult],
    summary: CycleSummary,
    decisions: dict[str, DecisionRule],
) -> dict[int, pd.DataFrame]:
    """Store forecasts and model state of the series fitted now; record the others. A band
    is widened by its indicator's conformal factor here, once: reused forecasts were stored
    widened already."""
    forecasts: dict[int, pd.DataFrame] = {}
    states, refreshed = [], []
    for sid, result in results.items():
        assert isinstance(sid, int)
        if result.forecast is None:
            outcome = "skipped" if result.skipped else "failed"
            summary.failures.append((sid, outcome, result.skipped or result.error or "?"))
            continue
        key = work.keys[sid]
        factor = decisions.get(key.indicator_code, DEFAULT_RULE).conformal_factor
        forecasts[sid] = published(result.forecast, key.timezone, factor)
        if result.refreshed:
            refreshed.append((sid, work.windows[sid][0]))
        else:
            states.append(_state(sid, run_id, work, result))
    store.save_forecasts(conn, run_id, forecasts.items())
    store.save_models(conn, states)
    store.save_refreshed(conn, run_id, refreshed)
    summary.series_refreshed = len(refreshed)
    store.save_failures(conn, run_id, summary.failures)
    summary.series_ok = len(forecasts)
    summary.series_skipped = sum(1 for f in summary.failures if f[1] == "skipped")
    summary.series_failed = sum(1 for f in summary.failures if f[1] == "failed")
    return forecasts


def _state(sid: int, run_id: int, work: _Work, result: SeriesResult) -> store.ModelState:
    digest, points = work.windows[sid]
    return store.ModelState(
        sid,
        run_id,
        work.now,
        work.origins[sid].to_pydatetime(),
        points,
        digest,
        result.seconds,
        result.warm_start or {},
        result.fit_state,
    )


def _reused_forecasts(
    conn: Connection, work: _Work, summary: CycleSummary
) -> dict[int, pd.DataFrame]:
    """The stored latest forecasts of series whose window did not change."""
    summary.series_reused = len(work.reused)
    return store.latest_forecasts(conn, work.reused) if work.reused else {}


def _save_crossings(
    conn: Connection,
    run_id: int,
    work: _Work,
    forecasts: dict[int, pd.DataFrame],
    targets: dict[int, list[Target]],
    decisions: dict[str, DecisionRule],
) -> int:
    """One crossing row per series and watched threshold, from the forecast the indicator's
    champion reads (``champion_forecasts``); an agreement's is kept only where its naive
    warns too (``decision.agreed``)."""
    now = pd.Timestamp(work.now)
    rules = {sid: decisions.get(work.keys[sid].indicator_code, DEFAULT_RULE) for sid in targets}
    read, gates = warning_forecasts(
        work.keys, rules, forecasts, work.baseline_windows, horizon=work.horizon
    )
    rows: list[tuple[int, Decision]] = []
    for sid, series_targets in targets.items():
        forecast = read.get(sid)
        if forecast is None or sid not in work.origins:
            continue
        origin = work.origins[sid]
        for t in series_targets:
            decision = decide(
                forecast, t.threshold, t.direction, rules[sid], origin=origin, now=now
            )
            if rules[sid].is_agreement:
                decision = agreed(decision, rules[sid], gates.get(sid), origin=origin, now=now)
            rows.append((sid, decision))
    return store.save_crossings(conn, run_id, work.now, rows)


def _score_lots(
    conn: Connection,
    run_id: int,
    work: _Work,
    forecasts: dict[int, pd.DataFrame],
    sites: Sequence[str] | None,
    opts: CycleOptions,
    summary: CycleSummary,
) -> None:
    """Breach predictions for held hazardous lots, dwell stretched by the sites' forecast
    congestion; a failure here is logged and recorded, and the series results are still
    written."""
    by_node = {
        (work.keys[sid].node_id, work.keys[sid].indicator_code): fc for sid, fc in forecasts.items()
    }
    try:
        with conn.begin_nested():
            scored = lot_risk.predict_held(
                conn,
                work.now,
                dwell_days=opts.dwell_days,
                sites=lot_risk.sites_under(conn, sites) if sites else None,
                congestion=lot_risk.site_congestion(by_node, work.congestion_history),
            )
            summary.lots_scored = store.save_breach_predictions(conn, run_id, work.now, scored)
    except Exception as exc:  # the series part of the run must not be lost over lots
        log.exception("forecast cycle: lot breach predictions failed")
        summary.errors.append(f"lots: {type(exc).__name__}: {exc}")
