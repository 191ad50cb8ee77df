-- Dashboard queries as quaywatch_grafana run without JIT and without parallel workers.
-- A dashboard sends many short queries at once; JIT compiled each for ~120 ms before running it
-- for 20 ms, and a parallel plan over the forecast hypertable (chosen when a panel's time range
-- spans every chunk) took ~1 s on two busy cores where the per-series index plan takes 50-80 ms
-- (docs/benchmarks.md, Grafana panels). Both settings are the role's defaults only: an analyst's
-- session may SET them back.
ALTER ROLE quaywatch_grafana SET jit = off;
ALTER ROLE quaywatch_grafana SET max_parallel_workers_per_gather = 0;
