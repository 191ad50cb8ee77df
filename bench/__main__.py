"""`make bench`: run every benchmark (or those named) and print their figures as JSON lines."""

from __future__ import annotations

import importlib
import json
import sys
import time

BENCHMARKS = (
    "bench.bench_ingest",
    "bench.bench_http_ingest",
    "bench.bench_metrics",
    "bench.bench_indicator_scaling",
    "bench.bench_rule_evaluation",
    "bench.bench_delivery",
    "bench.bench_panel_latency",
    "bench.bench_forecast",
    "bench.bench_baseline_windows",
    "bench.bench_stored_fit",
    "bench.bench_holiday_window",
    "bench.bench_risk",
)


def main(names: list[str]) -> None:
    for module_name in BENCHMARKS:
        short = module_name.split(".")[-1]
        if names and short not in names and short.removeprefix("bench_") not in names:
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        started = time.perf_counter()
        result = module.run()
        result["wall_s"] = round(time.perf_counter() - started, 1)
        print(json.dumps({"benchmark": short, **result}, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
