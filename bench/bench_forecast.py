"""National-scale forecast cycle, per-series cost against the default Prophet loop, and
breach probabilities for 10,000 held hazardous lots.

Targets (issue 4): a full cycle over ~1,500 series of 28-day hourly windows within 5 minutes on
2 cores; per-series cost at least 4x below the default Prophet loop (``Prophet().fit`` then
``predict`` of ``make_future_dataframe(48 h)``, default settings, sequential); the lot step for
10,000 held lots under 2 s.

The series are synthetic (level + 24 h and 168 h cycles + trend + noise, written straight into
``metric_hourly``): a fit costs the same whatever the numbers mean, and simulating 29 national
days first would take ~15 minutes. The baseline runs in the same process on a sample of the
same windows, interleaved with the fast path, so the ratios hold on a busy machine. CPU times
(sequential runs only) include the cmdstan child processes; the cycle's pool workers are
children of the forkserver, so their CPU is not visible here and the cycle reports wall time.
A second cycle 15 minutes later finds every window unchanged and fits nothing (the steady case of
3 cycles in 4); ``amortized_ms_per_series_per_cycle`` averages one fitting and three steady cycles.
A third, an hour later with one more hour written, is the national cycle of every hour with
staggered refits (``refit_hours`` 12): the series whose turn it is (about one in twelve) are refitted
warm-started from their stored parameters, the others forecast from their stored fit. A fourth,
another hour later, refits every series (``refit_hours`` 0, the cycle before staggered refits),
side by side in the same run. Each indicator has a champion decision (one a seasonal-naive
baseline, the others Prophet with a conformal factor), so crossings read both.

Champion selection (``jobs.select_champions``, every ``QUAYWATCH_FORECAST_SELECT_HOURS``, 24 by
default) is timed alone on the same data (each series holds the week before its window, the
origins the selection scores); ``hourly_plus_daily_selection_s`` adds its share of an hour to
the hourly cycle, and a fifth cycle, another hour later, runs while a selection runs beside it
in the same process (the worst hour of the day: both share the two cores).

Dask: ``fit_many`` on a ``LocalCluster`` of 1 and of 2 single-threaded worker processes on
127.0.0.1 (started, warmed and then timed on the same sample), as series per second; the
projection for 200,000 series in 5 minutes divides by the per-worker rate of the 2-worker run.
"""

from __future__ import annotations

import math
import resource
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Engine, text

from bench.common import bench_server, median, seeded_database
from forecaster.crossings import decision_store
from forecaster.crossings.decision import DecisionRule
from forecaster.cycle import CycleOptions, run_cycle
from forecaster.jobs import select_champions
from forecaster.prophet.batch import FAST_CONFIG, _init_worker, fit_many, forecast_one
from forecaster.prophet.executors import process_pool
from forecaster.prophet.model import fit, predict, silence_stan_logging, warm_start_params
from forecaster.prophet.stored_fit import fit_state
from forecaster.series import forecastable_series, load_histories
from quaywatch.settings import Settings

NOW = datetime(2026, 4, 10, 10, 20, tzinfo=UTC)
WINDOW_DAYS = 28
SELECTION_DAYS = 7  # select_champions' default days of origins

_SERIES = """
SELECT s.series_id FROM series s
JOIN indicator i ON i.code = s.indicator_code AND i.forecastable
JOIN org_node n ON n.node_id = s.node_id AND n.level = 'site'
ORDER BY s.series_id LIMIT :n
"""

_HOURLY = """
INSERT INTO metric_hourly (bucket, series_id, avg, min, max, last, sum, n)
SELECT b, s, v, v, v, v, v, 1 FROM (
    SELECT b, s, greatest(0, 20 + (s % 17) + 0.01 * h
        + 6 * sin(2 * pi() * h / 24 + s) + 3 * sin(2 * pi() * h / 168)
        + 2 * (random() - 0.5)) AS v
    FROM unnest(CAST(:ids AS int[])) AS s,
         generate_series(:first, :first + :hours - 1) AS h,
         LATERAL (SELECT CAST(:start AS timestamptz) + make_interval(hours => h) AS b) t
) x
"""

_RULES = """
INSERT INTO alert_rule (name, node_id, kind, level, indicator_code, severity, override_policy,
                        spec, origin_node_id, created_by, updated_by)
SELECT 'bench_' || code, 'CN', 'forecast', 'site', code, 'warning', 'tighten_only',
       jsonb_build_object('kind', 'forecast', 'indicator', code, 'threshold', 40,
                          'horizon_hours', 48),
       'CN', 'bench', 'bench'
FROM indicator WHERE forecastable
"""

_LOTS = """
INSERT INTO lot (lot_id, site_id, hazard_class, arrived_at, declared_at, inspection_started_at,
                 released_at, removed_at)
SELECT 'bench-' || i, s.node_id, (ARRAY['3', '5.1', '2.1', '9', '3'])[1 + i % 5],
       a, a + interval '2 hours',
       CASE WHEN i % 4 = 0 THEN a + interval '5 hours' END,
       CASE WHEN done OR i % 3 = 0 THEN a + make_interval(hours => 10 + i % 50) END,
       CASE WHEN done THEN a + make_interval(hours => 12 + i % 90) END
FROM generate_series(1, :n) AS i
CROSS JOIN LATERAL (SELECT i > :held AS done) d
CROSS JOIN LATERAL (SELECT CAST(:now AS timestamptz)
    - make_interval(hours => CASE WHEN d.done THEN 150 + i % 500 ELSE i % 100 END) AS a) t
JOIN LATERAL (SELECT node_id FROM org_node WHERE level = 'site'
              ORDER BY node_id OFFSET i % 215 LIMIT 1) s ON true
"""


def cpu_seconds() -> float:
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def fill(engine: Engine, n_series: int, held_lots: int, done_lots: int) -> list[int]:
    """The series, rules, champions and lots; each series holds its window and the week
    before it, the history the daily champion selection scores 7 days of origins on."""
    start = NOW.replace(minute=0) - timedelta(days=WINDOW_DAYS)
    hours = (WINDOW_DAYS + SELECTION_DAYS) * 24
    with engine.begin() as conn:
        ids = list(conn.execute(text(_SERIES), {"n": n_series}).scalars())
        for part in range(0, len(ids), 250):
            write_hours(conn, ids[part : part + 250], start, 24 * -SELECTION_DAYS, hours)
        conn.execute(text(_RULES))
        save_champions(conn)
        params = {"n": held_lots + done_lots, "held": held_lots, "now": NOW}
        conn.execute(text(_LOTS), params)
    return ids


def write_hours(conn: Any, ids: list[int], start: datetime, first: int, hours: int) -> None:
    """Hours ``first .. first + hours - 1`` after ``start`` of the synthetic pattern."""
    params = {"ids": ids, "hours": hours, "first": first, "start": start}
    conn.execute(text(_HOURLY), params)


def save_champions(conn: Any) -> None:
    """A champion per forecastable indicator, as a backtest leaves them: the first a 168 h
    seasonal-naive baseline, the others Prophet with a conformal factor."""
    codes = conn.execute(text("SELECT code FROM indicator WHERE forecastable ORDER BY code"))
    for i, code in enumerate(codes.scalars()):
        naive = DecisionRule(method="seasonal_naive_168h")
        rule = naive if i == 0 else DecisionRule("edge", conformal_factor=1.2)
        decision_store.save_decision(conn, code, rule, false_alarm_budget=1.0, backtest_id=None)


def default_prophet(history: pd.DataFrame) -> None:
    """The default loop of the issue: default settings, fit, predict history + 48 h."""
    from prophet import Prophet

    model = Prophet()
    model.fit(history)
    model.predict(model.make_future_dataframe(48, freq="h"))


def fast_path(history: pd.DataFrame) -> None:
    predict(fit(history, FAST_CONFIG), 48)


def staggered_hour(samples: list[pd.DataFrame]) -> list[tuple[Any, ...]]:
    """``forecast_one`` arguments for the samples as an hourly cycle with the default staggered
    refits sees them: each window one hour past a stored fit, one in ``refit_hours`` refitted
    (warm-started), the others forecast from that fit."""
    every = CycleOptions(workers=1).refit_hours
    calls = []
    for i, history in enumerate(samples):
        model = fit(history.iloc[:-1], FAST_CONFIG)  # the fit of an hour ago
        params, frame = warm_start_params(model), fit_state(model)
        calls.append((i, history, FAST_CONFIG, 48, params, frame if i % every else None))
    return calls


def side_by_side(samples: list[pd.DataFrame], rounds: int = 2) -> dict[str, float]:
    """Wall and CPU ms per series of the default loop, our fit + predict in one process, the
    cycle's fitting step (``forecast_one`` on a started pool of 2 processes, 3x the sample) and
    the same step in an hour of staggered refits (``staggered_hour``), interleaved round by round
    so all four see the same machine load."""
    silence_stan_logging()
    default_prophet(samples[0])  # imports and first-call costs out of the timing
    fast_path(samples[0])
    hour = staggered_hour(samples) * 3
    timings: dict[str, list[tuple[float, float]]] = {
        "default": [],
        "fast": [],
        "pool2": [],
        "pool2_staggered": [],
    }
    with process_pool(2, "forkserver", _init_worker) as pool:
        list(pool.executor.map(forecast_one, range(2), samples[:2]))  # workers up and warm
        for _ in range(rounds):
            for name in timings:
                wall, cpu = time.perf_counter(), cpu_seconds()
                if name == "pool2":
                    many = samples * 3
                    list(pool.executor.map(forecast_one, range(len(many)), many))
                    n = len(many)
                elif name == "pool2_staggered":
                    list(pool.executor.map(forecast_one, *zip(*hour, strict=True)))
                    n = len(hour)
                else:
                    step = default_prophet if name == "default" else fast_path
                    for history in samples:
                        step(history)
                    n = len(samples)
                elapsed = (time.perf_counter() - wall) / n, (cpu_seconds() - cpu) / n
                timings[name].append(elapsed)
    out = {}
    for name, values in timings.items():
        out[f"{name}_wall_ms"] = round(1000 * median([w for w, _ in values]), 1)
        if not name.startswith("pool2"):  # the workers are the forkserver's children
            out[f"{name}_cpu_ms"] = round(1000 * median([c for _, c in values]), 1)
    return out


def dask_scaling(samples: list[pd.DataFrame], repeat: int = 4) -> dict[str, float]:
    """Series per second of ``fit_many`` on a LocalCluster of 1 and of 2 worker processes
    (cluster start and the workers' first fits excluded) and the projected workers for
    200,000 series in 5 minutes at the 2-worker run's rate per worker."""
    from distributed import LocalCluster

    many = samples * repeat
    out: dict[str, float] = {}
    for workers in (1, 2):
        with LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster:
            address = cluster.scheduler_address
            fit_many(enumerate(samples[: 2 * workers]), FAST_CONFIG, workers, scheduler=address)
            started = time.perf_counter()
            results = fit_many(enumerate(many), FAST_CONFIG, workers, scheduler=address)
            elapsed = time.perf_counter() - started
        assert all(r.ok for r in results.values())
        out[f"dask_{workers}w_series_per_s"] = round(len(many) / elapsed, 2)
    per_worker = out["dask_2w_series_per_s"] / 2
    out["dask_2w_scaling"] = round(out["dask_2w_series_per_s"] / out["dask_1w_series_per_s"], 2)
    out["dask_workers_for_200k_in_5min"] = math.ceil(200_000 / 300 / per_worker)
    return out


def run(n_series: int = 1500, sample: int = 20, held_lots: int = 10_000) -> dict[str, Any]:
    with bench_server() as server:
        _, engine = seeded_database(server)
        settings = Settings(database_url=str(engine.url.render_as_string(hide_password=False)))
        ids = fill(engine, n_series, held_lots, 3 * held_lots)
        options = CycleOptions(workers=2)
        cold = run_cycle(engine, settings, NOW, options=options)
        warm = run_cycle(engine, settings, NOW + timedelta(minutes=15), options=options)
        with engine.begin() as conn:  # the next hour arrives: every window moves by one
            write_hours(conn, ids, NOW.replace(minute=0) - timedelta(days=WINDOW_DAYS), 672, 1)
        hourly = run_cycle(engine, settings, NOW + timedelta(hours=1), options=options)
        with engine.begin() as conn:  # and the next: every series refitted, as before staggering
            write_hours(conn, ids, NOW.replace(minute=0) - timedelta(days=WINDOW_DAYS), 673, 1)
        every = CycleOptions(workers=2, refit_hours=0)
        refit_all = run_cycle(engine, settings, NOW + timedelta(hours=2), options=every)
        began = time.perf_counter()
        select_champions(engine, settings)
        selection_s = time.perf_counter() - began
        with engine.begin() as conn:  # an hour later, the day's selection running beside it
            write_hours(conn, ids, NOW.replace(minute=0) - timedelta(days=WINDOW_DAYS), 674, 1)
        selecting = threading.Thread(target=select_champions, args=(engine, settings))
        selecting.start()
        beside = run_cycle(engine, settings, NOW + timedelta(hours=3), options=options)
        selecting.join()
        lot_s, lot_store_s, lots = _lot_step(engine)
        with engine.connect() as conn:
            since = NOW.replace(minute=0) - timedelta(days=WINDOW_DAYS)
            keys = forecastable_series(conn, since, NOW.replace(minute=0), min_points=72)
            picked = keys[:: max(1, len(keys) // sample)][:sample]
            histories = [h for _, h in load_histories(conn, picked, since, NOW.replace(minute=0))]
        ratios = side_by_side(histories)
        scaling = dask_scaling(histories)
        engine.dispose()
    cycle_ms = 1000 * cold.seconds / max(cold.series_ok, 1)
    hourly_ms = 1000 * hourly.seconds / max(hourly.series_ok, 1)
    return {
        "series": len(ids),
        "window_hours": WINDOW_DAYS * 24,
        "cycle_s": round(cold.seconds, 1),
        "cycle_target_s": 300,
        "cycle_ms_per_series": round(cycle_ms, 1),
        "series_ok": cold.series_ok,
        "series_failed": cold.series_failed,
        "crossings": cold.crossings,
        "steady_cycle_s": round(warm.seconds, 1),
        "steady_reused": warm.series_reused,
        "hourly_cycle_s": round(hourly.seconds, 1),
        "hourly_series_ok": hourly.series_ok,
        "hourly_refreshed": hourly.series_refreshed,
        "hourly_refit_all_cycle_s": round(refit_all.seconds, 1),
        "hourly_refit_all_series_ok": refit_all.series_ok,
        "hourly_crossings": hourly.crossings,
        "hourly_ms_per_series": round(hourly_ms, 1),
        "selection_s": round(selection_s, 1),
        "hourly_plus_daily_selection_s": round(
            hourly.seconds + selection_s / settings.forecast_select_hours, 1
        ),
        "hourly_beside_selection_s": round(beside.seconds, 1),
        "hourly_beside_selection_refreshed": beside.series_refreshed,
        "national_cycle_target_s": 30,
        **ratios,
        **scaling,
        "speedup_cycle_vs_default": round(ratios["default_wall_ms"] / cycle_ms, 2),
        "speedup_hourly_cycle_vs_default": round(ratios["default_wall_ms"] / hourly_ms, 2),
        "speedup_cpu_vs_default": round(ratios["default_cpu_ms"] / ratios["fast_cpu_ms"], 2),
        "speedup_wall_seq_vs_default": round(ratios["default_wall_ms"] / ratios["fast_wall_ms"], 2),
        "speedup_pool2_vs_default": round(ratios["default_wall_ms"] / ratios["pool2_wall_ms"], 2),
        "speedup_pool2_staggered_vs_default": round(
            ratios["default_wall_ms"] / ratios["pool2_staggered_wall_ms"], 2
        ),
        "speedup_hourly_vs_refit_all": round(refit_all.seconds / hourly.seconds, 2),
        "amortized_ms_per_series_per_cycle": round(
            1000 * (cold.seconds + 3 * warm.seconds) / 4 / max(cold.series_ok, 1), 1
        ),
        "speedup_target": 4.0,
        "lots_held": held_lots,
        "lots_scored": lots,
        "lot_scoring_s": round(lot_s, 2),
        "lot_scoring_target_s": 2.0,
        "lot_store_s": round(lot_store_s, 2),
    }


def _lot_step(engine: Engine) -> tuple[float, float, int]:
    """The cycle's lot step alone: (seconds to load, learn and score; seconds to store; lots)."""
    from forecaster import store
    from forecaster.breach import lot_risk

    with engine.begin() as conn:
        started = time.perf_counter()
        scored = lot_risk.predict_held(conn, NOW)
        scoring = time.perf_counter() - started
        store.save_breach_predictions(conn, 0, NOW, scored)
        storing = time.perf_counter() - started - scoring
    return scoring, storing, len(scored)
