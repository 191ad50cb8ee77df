"""The forecaster's and the rules' rows for the filled database, written directly (their
writers are other packages): forecast runs every 6 h with 48 hourly rows per series at the
dashboards' default nodes, a failed and a skipped series, a backtest with a decision per
indicator, a breach prediction per hazardous lot, and threshold and forecast rules with an
override, so every forecast-quality and band panel has something to show."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, text

from collector.rollup import rollup_hourly

FORECAST_NODES = ("CN", "2200", "2201-YANGSHAN")
RUNS = 12
RUN_EVERY = timedelta(hours=6)


def fill_forecasts(engine: Engine, now: datetime) -> None:
    # The hourly rollup job's next pass: the last metrics cycle's points reach metric_hourly
    # (feed indicators have no history before it: the feed is added after the backfill).
    rollup_hourly(engine, now + timedelta(hours=1), since=now - timedelta(hours=2))
    with engine.begin() as conn:
        runs = [_add_run(conn, now - RUN_EVERY * (RUNS - 1 - k) - timedelta(minutes=10))
                for k in range(RUNS)]  # fmt: skip
        _add_failures(conn, runs[-1])
        _add_backtest(conn, now)
        _add_breach_predictions(conn, now, runs[-1])
        _add_rules(conn)


def _add_run(conn: Connection, started: datetime) -> int:
    """One run: every series of FORECAST_NODES, yhat near the hourly actual (or the latest
    value ahead of now), a band of +-20 % and 1 unit around it; the series point to it."""
    run_id = conn.execute(text(
        "INSERT INTO forecast_run (started_at, finished_at, series_total, series_ok,"
        " series_skipped, series_failed) VALUES (:t, :t + interval '40 seconds', 100, 98, 1, 1)"
        " RETURNING run_id"), {"t": started}).scalar_one()  # fmt: skip
    conn.execute(text("""
        INSERT INTO forecast (ds, run_id, series_id, yhat, yhat_lower, yhat_upper)
        SELECT ds, :run, s.series_id, v.y, v.y * 0.8 - 1, v.y * 1.2 + 1
        FROM series s
        CROSS JOIN generate_series(date_trunc('hour', CAST(:t AS timestamptz)) + interval '1 hour',
                                   date_trunc('hour', CAST(:t AS timestamptz)) + interval '48 hours',
                                   interval '1 hour') ds
        CROSS JOIN LATERAL (
            SELECT coalesce(
                (SELECT h.avg FROM metric_hourly h WHERE h.series_id = s.series_id AND h.bucket = ds),
                (SELECT l.value FROM series_latest l WHERE l.series_id = s.series_id),
                0) * (1 + 0.1 * sin(extract(epoch FROM ds) / 7200)) AS y) v
        WHERE s.node_id = ANY (:nodes)
    """), {"run": run_id, "t": started, "nodes": list(FORECAST_NODES)})  # fmt: skip
    conn.execute(text("""
        INSERT INTO forecast_model (series_id, run_id, format_version, fitted_at, history_end,
                                    n_points, data_hash, warm_start)
        SELECT series_id, :run, 1, :t, :t, 672, 'h' || :run, '{}' FROM series
        WHERE node_id = ANY (:nodes)
        ON CONFLICT (series_id) DO UPDATE SET run_id = EXCLUDED.run_id, fitted_at = EXCLUDED.fitted_at
    """), {"run": run_id, "t": started, "nodes": list(FORECAST_NODES)})  # fmt: skip
    return int(run_id)


def _add_failures(conn: Connection, run_id: int) -> None:
    conn.execute(text("""
        INSERT INTO forecast_failure (run_id, series_id, outcome, reason)
        SELECT :run, series_id,
               CASE WHEN row_number() OVER (ORDER BY series_id) = 1 THEN 'failed' ELSE 'skipped' END,
               CASE WHEN row_number() OVER (ORDER BY series_id) = 1
                    THEN 'RuntimeError: optimisation failed' ELSE 'too little data: 12 points' END
        FROM series WHERE node_id = '5304-SHEKOU' ORDER BY series_id LIMIT 2
    """), {"run": run_id})  # fmt: skip


def _add_backtest(conn: Connection, now: datetime) -> None:
    backtest = conn.execute(text(
        "INSERT INTO backtest_run (started_at, finished_at, source) VALUES (:t, :t, 'simulator')"
        " RETURNING backtest_id"), {"t": now - timedelta(days=1)}).scalar_one()  # fmt: skip
    rows = [
        ("threshold", "clearance_time_p90_hours", "prophet:edge", True, 0.81, 0.7, 0.74),
        ("threshold", "clearance_time_p90_hours", "seasonal_naive_24h", False, 0.6, 0.5, None),
        ("threshold", "hazardous_overdue", "prophet:probability", True, 0.7, 0.8, 0.79),
        ("deadline", "hazardous_lots", "breach_probability>=0.5", True, 0.66, 0.9, None),
    ]
    for kind, subject, method, chosen, precision, recall, coverage in rows:
        conn.execute(text(
            "INSERT INTO backtest_result (backtest_id, kind, subject, scope, method, chosen,"
            " horizon_hours, tp, fp, fn, tn, precision, recall, f1,"
            " false_alarm_episodes_per_site_week, median_lead_hours, mae, coverage) VALUES"
            " (:b, :k, :s, 'all', :m, :c, 24, 40, 10, 12, 900, :p, :r, 2 * :p * :r / (:p + :r),"
            " 0.4, 9.5, 1.2, :cov)"),
            {"b": backtest, "k": kind, "s": subject, "m": method, "c": chosen, "p": precision,
             "r": recall, "cov": coverage})  # fmt: skip
    conn.execute(text(
        "INSERT INTO forecast_decision (indicator_code, rule, backtest_id, method, f1, reason)"
        " VALUES ('clearance_time_p90_hours', 'edge', :b, 'prophet', 0.75, 'best F1 in budget'),"
        " ('hazardous_overdue', 'probability', :b, 'prophet', 0.74, 'best F1 in budget')"),
        {"b": backtest})  # fmt: skip


def _add_breach_predictions(conn: Connection, now: datetime, run_id: int) -> None:
    """One prediction per hazardous lot visit, 6 h before its deadline (or now): mostly right,
    wrong for about one lot in four, so hits and misses both show."""
    conn.execute(text("""
        INSERT INTO lot_breach_prediction (lot_id, site_id, visit_no, computed_at,
                                           breach_probability, run_id)
        SELECT lot_id, site_id, visit_no, least(deadline_at - interval '6 hours', :now),
               CASE WHEN (abs(hashtext(lot_id)) % 4 = 0)
                         = (coalesce(removed_at, CAST(:now AS timestamptz)) > deadline_at)
                    THEN 0.2 ELSE 0.8 END,
               :run
        FROM lot WHERE hazard_class IS NOT NULL AND deadline_at IS NOT NULL
    """), {"now": now, "run": run_id})  # fmt: skip


def _add_rules(conn: Connection) -> None:
    """Threshold and forecast rules on clearance p90 and overdue lots, and a tighter override
    for one customs, so rule_threshold has rows at every default node."""
    rules = [
        ("clearance-p90-slow", "threshold", "site", "clearance_time_p90_hours", 48),
        ("clearance-p90-forecast", "forecast", "site", "clearance_time_p90_hours", 48),
        ("national-overdue", "threshold", "national", "hazardous_overdue", 0),
        ("customs-clearance-p50", "threshold", "customs", "clearance_time_p50_hours", 24),
    ]
    for name, kind, level, indicator, threshold in rules:
        rule_id = conn.execute(text(
            "INSERT INTO alert_rule (name, node_id, kind, level, indicator_code, severity,"
            " override_policy, spec, origin_node_id, created_by, updated_by) VALUES (:n, 'CN',"
            " :k, :l, :i, 'warning', 'any', CAST(:spec AS jsonb), 'CN', 'test', 'test')"
            " RETURNING rule_id"),
            {"n": name, "k": kind, "l": level, "i": indicator,
             "spec": f'{{"operator": ">", "threshold": {threshold}}}'}).scalar_one()  # fmt: skip
        if name == "clearance-p90-slow":
            conn.execute(text(
                "INSERT INTO alert_rule_override (rule_id, node_id, threshold, set_by) VALUES"
                " (:r, '2200', 36, 'test')"), {"r": rule_id})  # fmt: skip
