"""Panel latency at national scale: every dashboard query, expanded as Grafana expands it and
run as quaywatch_grafana, against 30 days of data for all 215 sites and every rolled-up node.

Data (written straight into the collector's tables with SQL, so the load takes minutes, not the
hours a simulator backfill of 30 days would):
- metric_point: every series (367 nodes x 36 indicators), one point a minute for the last
  `minute_hours` hours (what the live cycle writes) and one every `step_minutes` before that;
- metric_hourly for the whole window and series_latest at the end;
- lots: `lots_per_day` a day nationally (20,000 is the simulator's scale 1), 3% hazardous, with
  arrival, release and removal events and the odd hold; hazardous lots still on site get their
  deadlines from the storage-limit trigger as in production;
- alert history (a transition every few minutes), firing instances and delivery attempts;
- forecasts as the cycle keeps them: a refit per forecastable series every hour for the last
  `forecast_days` days (the cycle's retention), each 48 hourly rows with a band, the latest-run
  pointer per series; a breach prediction per hazardous lot on site every 15 minutes over the
  same days; a champion per indicator and one backtest's scores.

Each query runs `repeats` times after one warm-up; the median is reported, at the dashboard's
default range and at the last 30 days. The budget is 300 ms per query.

    .venv/bin/python -c "from bench.bench_panel_latency import run; print(run())"
"""

from __future__ import annotations

import json
import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from bench.common import ROOT, bench_server, seeded_database
from tests.grafana.grafana_sql import TimeRange
from tests.grafana.panel_runner import DashboardRun, default_range, psycopg_executor

BUDGET_MS = 300.0
DASHBOARDS = ROOT / "grafana" / "dashboards"

# A plausible value per indicator unit: a daily wave plus noise, never negative.
_VALUE = """greatest(0, CASE i.unit WHEN '%%' THEN 20 + 15 * sin(w) WHEN 'h' THEN 12 + 8 * sin(w)
    WHEN 'min' THEN 5 + 4 * sin(w) ELSE 30 + 20 * sin(w) END * (0.8 + 0.4 * random()))"""

_POINTS = f"""
INSERT INTO metric_point (time, series_id, value)
SELECT t, s.series_id, {_VALUE}
FROM series s JOIN indicator i ON i.code = s.indicator_code
CROSS JOIN generate_series(%(start)s::timestamptz, %(end)s::timestamptz, %(step)s::interval) t
CROSS JOIN LATERAL (SELECT extract(epoch FROM t) / 86400 * 2 * pi() + s.series_id AS w) x
ON CONFLICT DO NOTHING
"""

_HOURLY = f"""
INSERT INTO metric_hourly (bucket, series_id, avg, min, max, last, sum, n)
SELECT t, s.series_id, v, v * 0.8, v * 1.2, v, v * 60, 60
FROM series s JOIN indicator i ON i.code = s.indicator_code
CROSS JOIN generate_series(%(start)s::timestamptz, %(end)s::timestamptz, '1 hour') t
CROSS JOIN LATERAL (SELECT extract(epoch FROM t) / 86400 * 2 * pi() + s.series_id AS w) x
CROSS JOIN LATERAL (SELECT {_VALUE} AS v) y
"""

_LATEST = """
INSERT INTO series_latest (series_id, time, value)
SELECT series_id, time, value FROM metric_point WHERE time = %(end)s
ON CONFLICT (series_id) DO UPDATE SET time = EXCLUDED.time, value = EXCLUDED.value
"""

# Lots spread over the sites by their weight; removal 1-6 days after arrival (a few never).
_LOTS = """
WITH sites AS (
    SELECT node_id, sum(weight) OVER (ORDER BY node_id) / sum(weight) OVER () AS upto
    FROM org_node WHERE level = 'site'
), pick AS (  -- width_bucket over the cumulative weights draws a site by its weight
    SELECT array_agg(node_id ORDER BY upto) AS ids,
           (array_agg(upto ORDER BY upto))[1:count(*) - 1] AS bounds
    FROM sites
), drawn AS (
    SELECT n, %(end)s::timestamptz - random() * %(days)s * interval '1 day' AS arrived,
           random() AS pick, random() AS r
    FROM generate_series(1, %(lots)s) n
)
INSERT INTO lot (lot_id, site_id, hazard_class, un_number, arrived_at, declared_at,
                 released_at, removed_at, held_at)
SELECT 'b' || n,
       p.ids[1 + width_bucket(pick, p.bounds)],
       CASE WHEN r < 0.03 THEN (ARRAY['3', '8', '2.1', '9', '6.1'])[1 + (n %% 5)] END,
       CASE WHEN r < 0.03 THEN '1203' END,
       arrived,
       arrived + interval '2 hours',
       arrived + (4 + 40 * r) * interval '1 hour',
       CASE WHEN r > 0.002 THEN arrived + (24 + 120 * r) * interval '1 hour' END,
       CASE WHEN r > 0.995 THEN arrived + interval '3 hours' END
FROM drawn, pick p
"""

_EVENTS = """
INSERT INTO cargo_event (event_id, occurred_at, site_id, lot_id, kind, source)
SELECT l.lot_id || '-' || e.kind, e.at, l.site_id, l.lot_id, e.kind, 'bench'
FROM lot l CROSS JOIN LATERAL (VALUES ('arrived', l.arrived_at), ('released', l.released_at),
    ('removed', l.removed_at), ('held', l.held_at)) e(kind, at)
WHERE e.at IS NOT NULL AND e.at <= %(end)s
"""

_ALERTS = """
WITH rule AS (
    INSERT INTO alert_rule (name, node_id, kind, level, indicator_code, severity,
        override_policy, spec, origin_node_id, created_by, updated_by)
    VALUES ('bench', 'CN', 'threshold', 'site', 'hazardous_overdue', 'warning', 'any', '{}',
            'CN', 'bench', 'bench') RETURNING rule_id
), sites AS (SELECT node_id, row_number() OVER (ORDER BY node_id) AS k FROM org_node
             WHERE level = 'site')
INSERT INTO alert_history (at, rule_id, fingerprint, node_id, labels, from_state, to_state, value)
SELECT t, rule.rule_id, 'bench-' || s.node_id, s.node_id,
       jsonb_build_object('alertname', 'HazardousOverdue',
                          'severity', (ARRAY['critical', 'warning', 'info'])[1 + n %% 3]),
       'Normal', (ARRAY['Pending', 'Firing', 'Normal'])[1 + n %% 3], 1
FROM rule, generate_series(1, %(transitions)s) n
CROSS JOIN LATERAL (SELECT %(end)s::timestamptz - (n * %(days)s * 86400.0 / %(transitions)s)
                    * interval '1 second' AS t) x
JOIN sites s ON s.k = 1 + n %% 215
"""

_INSTANCES = """
INSERT INTO alert_instance (fingerprint, rule_id, node_id, severity, labels, state, since,
                            fired_at, last_value, last_eval)
SELECT DISTINCT ON (fingerprint) fingerprint, rule_id, node_id, labels ->> 'severity', labels,
       'Firing', at, at, 1, %(end)s
FROM alert_history WHERE at > %(end)s::timestamptz - interval '6 hours'
ORDER BY fingerprint, at DESC
"""

_DELIVERIES = """
WITH channel AS (
    INSERT INTO channel (node_id, name, kind, bot_key) SELECT node_id, 'bench ' || node_id,
        (ARRAY['dingtalk', 'wecom', 'feishu', 'slack', 'webhook'])[1 + abs(hashtext(node_id)) %% 5],
        'bench-' || node_id
    FROM org_node WHERE level = 'customs' RETURNING channel_id, bot_key
)
INSERT INTO delivery_attempt (channel_id, bot_key, attempt, started_at, status, latency_ms)
SELECT c.channel_id, c.bot_key, 1, %(end)s::timestamptz - random() * %(days)s * interval '1 day',
       CASE WHEN random() < 0.05 THEN 'retryable' ELSE 'success' END, (50 + random() * 900)::int
FROM channel c, generate_series(1, %(per_channel)s)
"""


_FORECAST_RUNS = """
INSERT INTO forecast_run (started_at, finished_at, series_total, series_ok, crossings,
                          lots_scored)
SELECT t, t + interval '25 seconds', n.series, n.series, 40, 2000
FROM generate_series(%(start)s::timestamptz, %(end)s::timestamptz, '1 hour') t,
     (SELECT count(*) AS series FROM series s JOIN indicator i ON i.code = s.indicator_code
      WHERE i.forecastable) n
"""

# Each run's forecast starts at the next hour: the band widens with the lead, the value follows
# the same daily wave as the points.
_FORECASTS = f"""
INSERT INTO forecast (ds, run_id, series_id, yhat, yhat_lower, yhat_upper)
SELECT ds, r.run_id, s.series_id, v, greatest(0, v * (0.85 - 0.004 * h)), v * (1.15 + 0.004 * h)
FROM forecast_run r
CROSS JOIN series s JOIN indicator i ON i.code = s.indicator_code AND i.forecastable
CROSS JOIN generate_series(1, 48) h
CROSS JOIN LATERAL (SELECT date_trunc('hour', r.started_at) + h * interval '1 hour' AS ds) d
CROSS JOIN LATERAL (SELECT extract(epoch FROM ds) / 86400 * 2 * pi() + s.series_id AS w) x
CROSS JOIN LATERAL (SELECT {_VALUE} AS v) y
"""

_MODELS = """
INSERT INTO forecast_model (series_id, run_id, format_version, fitted_at, history_end,
                            n_points, data_hash, fit_seconds, warm_start)
SELECT s.series_id, last.run_id, 1, last.started_at, last.started_at, 672, 'bench', 0.03, '{}'
FROM series s JOIN indicator i ON i.code = s.indicator_code AND i.forecastable,
     (SELECT run_id, started_at FROM forecast_run ORDER BY started_at DESC LIMIT 1) last
"""

_BREACH = """
INSERT INTO lot_breach_prediction (lot_id, site_id, visit_no, computed_at, breach_probability,
                                   predicted_breach_at, run_id, congestion)
SELECT l.lot_id, l.site_id, l.visit_no, t, p, CASE WHEN p >= 0.5 THEN l.deadline_at END, 1, 1
FROM lot l
CROSS JOIN generate_series(%(start)s::timestamptz, %(end)s::timestamptz, '15 minutes') t
CROSS JOIN LATERAL (SELECT least(1, greatest(0, extract(epoch FROM t - l.arrived_at)
                    / nullif(extract(epoch FROM l.deadline_at - l.arrived_at), 0))) AS p) x
WHERE l.hazard_class IS NOT NULL AND l.deadline_at IS NOT NULL
  AND l.arrived_at <= t AND coalesce(l.removed_at, 'infinity') > t
"""

_BACKTEST = """
WITH run AS (
    INSERT INTO backtest_run (started_at, finished_at, source) VALUES
        (%(end)s::timestamptz - interval '1 day', %(end)s::timestamptz - interval '23 hours',
         'bench') RETURNING backtest_id
), methods(method) AS (VALUES ('prophet:yhat'), ('prophet:edge'), ('prophet:p>=0.3'),
    ('prophet:p>=0.7'), ('seasonal_naive_24h'), ('seasonal_naive_168h'), ('linear_6h')),
scopes(scope) AS (SELECT 'all' UNION ALL SELECT node_id FROM org_node WHERE level = 'customs'),
decided AS (
    INSERT INTO forecast_decision (indicator_code, rule, backtest_id, method, f1, reason)
    SELECT code, 'edge', run.backtest_id, 'prophet', 0.7, 'bench' FROM indicator, run
    WHERE forecastable RETURNING indicator_code
)
INSERT INTO backtest_result (backtest_id, kind, subject, scope, method, chosen, horizon_hours,
    tp, fp, fn, tn, precision, recall, f1, false_alarm_rate, coverage)
SELECT run.backtest_id, 'threshold', i.code, sc.scope, m.method, m.method = 'prophet:edge', 24,
       40, 10, 12, 300, 0.8, 0.77, 0.78, 0.03, 0.79
FROM run, indicator i, methods m, scopes sc WHERE i.forecastable
"""


def _load(conn: psycopg.Connection[Any], end: datetime, cfg: dict[str, int]) -> dict[str, float]:
    """Write the data set; return the seconds each part took."""
    days, timings = cfg["days"], {}
    start = end.replace(minute=0) - timedelta(days=days)
    forecast_start = end.replace(minute=0) - timedelta(days=cfg["forecast_days"])
    minute_start = end - timedelta(hours=cfg["minute_hours"])
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("points_coarse", _POINTS, {"start": start, "end": minute_start - timedelta(minutes=1),
                                    "step": f"{cfg['step_minutes']} minutes"}),
        ("points_minute", _POINTS, {"start": minute_start, "end": end, "step": "1 minute"}),
        ("hourly", _HOURLY, {"start": start, "end": end}),
        ("latest", _LATEST, {"end": end}),
        ("lots", _LOTS, {"end": end, "days": days, "lots": cfg["lots_per_day"] * days}),
        ("events", _EVENTS, {"end": end}),
        ("alerts", _ALERTS, {"end": end, "days": days, "transitions": 300 * days}),
        ("instances", _INSTANCES, {"end": end}),
        ("deliveries", _DELIVERIES, {"end": end, "days": days, "per_channel": 40 * days}),
        ("forecast_runs", _FORECAST_RUNS, {"start": forecast_start, "end": end}),
        ("forecasts", _FORECASTS, {}),
        ("forecast_models", _MODELS, {}),
        ("breach_predictions", _BREACH, {"start": forecast_start, "end": end}),
        ("backtest", _BACKTEST, {"end": end}),
    ]  # fmt: skip
    for name, sql, params in steps:
        began = time.perf_counter()
        conn.execute(sql, params)
        conn.commit()
        timings[name] = round(time.perf_counter() - began, 1)
    began = time.perf_counter()
    conn.autocommit = True
    conn.execute("VACUUM ANALYZE")
    timings["analyze"] = round(time.perf_counter() - began, 1)
    return timings


def _time_queries(
    reader: psycopg.Connection[Any], end: datetime, repeats: int
) -> dict[str, dict[str, float]]:
    """Median milliseconds per query, at the default range and over the last 30 days."""
    results: dict[str, dict[str, float]] = {}
    for path in sorted(DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        for label, time_range in (
            ("default", default_range(dashboard, end)),
            ("30d", TimeRange.relative("now-30d", "now", end)),
        ):
            samples: dict[str, list[float]] = {}
            for _ in range(repeats + 1):  # the first run warms the cache and is dropped
                run = DashboardRun(dashboard, time_range, psycopg_executor(reader)).run_all()
                for query in run.runs:
                    samples.setdefault(f"{path.stem} / {query.source}", []).append(
                        query.frame.elapsed_ms
                    )
            for source, times in samples.items():
                results.setdefault(source, {})[label] = round(statistics.median(times[1:]), 1)
    return results


def run(
    days: int = int(os.environ.get("QW_BENCH_DAYS", "30")),
    minute_hours: int = int(os.environ.get("QW_BENCH_MINUTE_HOURS", "48")),
    step_minutes: int = int(os.environ.get("QW_BENCH_STEP_MINUTES", "15")),
    lots_per_day: int = int(os.environ.get("QW_BENCH_LOTS_PER_DAY", "20000")),
    forecast_days: int = int(os.environ.get("QW_BENCH_FORECAST_DAYS", "3")),
    repeats: int = 5,
) -> dict[str, Any]:
    """Build the data set in a private cluster, time every query, return the figures."""
    cfg = {"days": days, "minute_hours": minute_hours, "step_minutes": step_minutes,
           "lots_per_day": lots_per_day, "forecast_days": forecast_days}  # fmt: skip
    with bench_server() as server:
        name, engine = seeded_database(server)
        engine.dispose()
        end = datetime.now(UTC).replace(second=0, microsecond=0)
        with psycopg.connect(server.url(name)) as conn:
            load_seconds = _load(conn, end, cfg)
            rows = conn.execute("SELECT count(*) FROM metric_point").fetchone()
            forecast_rows = conn.execute("SELECT count(*) FROM forecast").fetchone()
        reader_url = server.url(name).replace("://postgres@", "://quaywatch_grafana@", 1)
        with psycopg.connect(reader_url, autocommit=True) as reader:
            queries = _time_queries(reader, end, repeats)
    worst = max(max(v.values()) for v in queries.values())
    return {
        "config": cfg,
        "metric_points": rows[0] if rows else 0,
        "forecast_rows": forecast_rows[0] if forecast_rows else 0,
        "load_seconds": load_seconds,
        "budget_ms": BUDGET_MS,
        "worst_ms": worst,
        "all_within_budget": all(v.get("default", 0) <= BUDGET_MS for v in queries.values()),
        "all_within_budget_30d": worst <= BUDGET_MS,
        "queries_ms": queries,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2, ensure_ascii=False))
