"""Baseline champions' forecasts from the windows the cycle already holds, against a second read
of those windows from ``metric_hourly``, side by side in one run.

Every forecastable indicator gets a champion that reads a baseline (the 168 h and 24 h seasonal
naives and the weekly-mean blend in turn), as the simulated national history chooses for most
indicators. The crossings step then needs each series' baseline forecast: ``held`` computes it
from windows already in memory (what the cycle does since it keeps them from its own read),
``reread`` reads the same windows again first (what it did before). Rounds alternate; medians.
A cold, a steady and an hourly national cycle with those champions are timed too.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from bench.bench_forecast import NOW, WINDOW_DAYS, fill, write_hours
from bench.common import bench_server, median, seeded_database
from forecaster.crossings import decision_store
from forecaster.crossings.champion_forecasts import baseline_forecasts
from forecaster.crossings.decision import DecisionRule
from forecaster.cycle import CycleOptions, run_cycle
from forecaster.series import forecastable_series, load_histories
from quaywatch.settings import Settings

METHODS = ("seasonal_naive_168h", "seasonal_naive_24h", "blend_mean_3w")
HORIZON = 48


def baseline_champions(conn: Any) -> dict[str, DecisionRule]:
    codes = conn.execute(text("SELECT code FROM indicator WHERE forecastable ORDER BY code"))
    rules = {}
    for i, code in enumerate(codes.scalars()):
        rules[code] = DecisionRule("edge", method=METHODS[i % len(METHODS)])
        decision_store.save_decision(
            conn, code, rules[code], false_alarm_budget=1.0, backtest_id=None
        )
    return rules


def run(n_series: int = 1500, rounds: int = 5) -> dict[str, Any]:
    with bench_server() as server:
        _, engine = seeded_database(server)
        settings = Settings(database_url=str(engine.url.render_as_string(hide_password=False)))
        ids = fill(engine, n_series, 10_000, 30_000)
        with engine.begin() as conn:
            rules = baseline_champions(conn)
        options = CycleOptions(workers=2)
        cold = run_cycle(engine, settings, NOW, options=options)
        steady = run_cycle(engine, settings, NOW + timedelta(minutes=15), options=options)
        with engine.begin() as conn:
            write_hours(conn, ids, NOW.replace(minute=0) - timedelta(days=WINDOW_DAYS), 672, 1)
        hourly = run_cycle(engine, settings, NOW + timedelta(hours=1), options=options)
        until = NOW.replace(minute=0)
        since = until - timedelta(days=WINDOW_DAYS)
        with engine.connect() as conn:
            keys = forecastable_series(conn, since, until, min_points=72)
            reads = {k.series_id: rules[k.indicator_code].baseline or "" for k in keys}
            held = list(load_histories(conn, keys, since, until))
            times: dict[str, list[float]] = {"held": [], "reread": []}
            for _ in range(rounds):
                began = time.perf_counter()
                from_held = baseline_forecasts(held, reads, HORIZON)
                times["held"].append(time.perf_counter() - began)
                began = time.perf_counter()
                reread = baseline_forecasts(
                    load_histories(conn, keys, since, until), reads, HORIZON
                )
                times["reread"].append(time.perf_counter() - began)
            assert from_held.keys() == reread.keys()
        engine.dispose()
    held_s, reread_s = median(times["held"]), median(times["reread"])
    return {
        "series": len(keys),
        "baseline_forecasts": len(from_held),
        "held_windows_s": round(held_s, 2),
        "reread_windows_s": round(reread_s, 2),
        "speedup_held_vs_reread": round(reread_s / held_s, 2),
        "cold_cycle_s": round(cold.seconds, 1),
        "steady_cycle_s": round(steady.seconds, 1),
        "hourly_cycle_s": round(hourly.seconds, 1),
        "hourly_crossings": hourly.crossings,
    }
