-- The forecaster's tables: runs, forecast rows, per-series model state, failures, the decision
-- rule chosen per indicator, and backtest scores. forecaster/store.py is the only writer of
-- these and of forecast_crossing / lot_breach_prediction (made by 0021 for the alerter).

-- One row per forecast cycle. series_reused counts series whose training window had not changed
-- since their last fit: their previous forecast stands (see forecast_model.data_hash).
CREATE TABLE forecast_run (
    run_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at      timestamptz NOT NULL,
    finished_at     timestamptz,
    series_total    int NOT NULL DEFAULT 0,
    series_ok       int NOT NULL DEFAULT 0,
    series_reused   int NOT NULL DEFAULT 0,
    series_skipped  int NOT NULL DEFAULT 0,
    series_failed   int NOT NULL DEFAULT 0,
    crossings       int NOT NULL DEFAULT 0,
    lots_scored     int NOT NULL DEFAULT 0,
    config          jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX forecast_run_started_idx ON forecast_run (started_at DESC);

-- Forecast rows, one per series, run and target hour. ds is the target instant (the model works
-- in the site's naive local time; the store converts back). Partitioned by ds in 1-day chunks,
-- so retention drops whole chunks of past target times. At national scale (~4,800 series,
-- refitted hourly, 48 rows each) this is ~5.5M rows a day, hence a short retention.
CREATE TABLE forecast (
    ds          timestamptz      NOT NULL,
    run_id      bigint           NOT NULL,
    series_id   int              NOT NULL,
    yhat        double precision NOT NULL,
    yhat_lower  double precision NOT NULL,
    yhat_upper  double precision NOT NULL
);
SELECT create_hypertable('forecast', by_range('ds', INTERVAL '1 day'));
CREATE UNIQUE INDEX forecast_series_run_ds ON forecast (series_id, run_id, ds);

-- Per-series model state: the run whose forecast rows are this series' latest (the "latest run
-- per series" pointer), what the fit saw, and warm-start parameters (a few KB; the full Prophet
-- JSON is ~110 KiB at 672 points and is not needed to warm start). format_version versions the
-- warm_start document (forecaster/store.py WARM_START_FORMAT).
CREATE TABLE forecast_model (
    series_id       int PRIMARY KEY REFERENCES series (series_id) ON DELETE CASCADE,
    run_id          bigint NOT NULL,
    format_version  int NOT NULL,
    fitted_at       timestamptz NOT NULL,
    history_end     timestamptz NOT NULL,
    n_points        int NOT NULL,
    data_hash       text NOT NULL,
    fit_seconds     double precision,
    warm_start      jsonb NOT NULL
);
CREATE INDEX forecast_model_run_idx ON forecast_model (run_id);

-- Latest forecast rows of every series, through the pointer above.
CREATE VIEW forecast_latest AS
SELECT f.series_id, f.run_id, f.ds, f.yhat, f.yhat_lower, f.yhat_upper
FROM forecast_model m
JOIN forecast f ON f.series_id = m.series_id AND f.run_id = m.run_id;

-- A series that failed (an error) or was skipped (too little data) in a run, with the reason.
CREATE TABLE forecast_failure (
    run_id     bigint NOT NULL REFERENCES forecast_run (run_id) ON DELETE CASCADE,
    series_id  int NOT NULL,
    outcome    text NOT NULL CHECK (outcome IN ('failed', 'skipped')),
    reason     text NOT NULL,
    PRIMARY KEY (run_id, series_id)
);

-- The decision rule per indicator, chosen by `quaywatch backtest --apply` against a false-alarm
-- budget (docs/forecasting.md), and the isotonic calibration of its probabilities. An indicator
-- without a row uses forecaster/decision.py DEFAULT_RULE and uncalibrated probabilities.
CREATE TABLE forecast_decision (
    indicator_code      text PRIMARY KEY REFERENCES indicator (code) ON DELETE CASCADE,
    rule                text NOT NULL CHECK (rule IN ('yhat', 'edge', 'probability')),
    min_probability     double precision NOT NULL DEFAULT 0.5,
    consecutive         int NOT NULL DEFAULT 1 CHECK (consecutive >= 1),
    calibration_x       double precision[] NOT NULL DEFAULT '{}',
    calibration_y       double precision[] NOT NULL DEFAULT '{}',
    false_alarm_budget  double precision,
    backtest_id         bigint,
    chosen_at           timestamptz NOT NULL DEFAULT now()
);

-- Backtests (`quaywatch backtest`): one run, then one row per method and scope. Grafana's
-- forecast-quality dashboard reads these through reporting.backtest_result.
CREATE TABLE backtest_run (
    backtest_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    source       text NOT NULL,
    params       jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE backtest_result (
    backtest_id                bigint NOT NULL REFERENCES backtest_run (backtest_id)
                               ON DELETE CASCADE,
    kind                       text NOT NULL CHECK (kind IN ('threshold', 'deadline')),
    subject                    text NOT NULL,
    scope                      text NOT NULL,
    method                     text NOT NULL,
    chosen                     boolean NOT NULL DEFAULT false,
    horizon_hours              double precision,
    tp                         int NOT NULL,
    fp                         int NOT NULL,
    fn                         int NOT NULL,
    tn                         int NOT NULL,
    precision                  double precision,
    recall                     double precision,
    f1                         double precision,
    false_alarm_rate           double precision,
    false_alarms_per_site_week double precision,
    false_alarm_episodes_per_site_week double precision,
    median_lead_hours          double precision,
    median_timing_error_hours  double precision,
    mae                        double precision,
    coverage                   double precision,
    PRIMARY KEY (backtest_id, kind, subject, scope, method)
);

-- The alerter's two input tables grow every cycle: make them hypertables (1-day chunks) so
-- retention drops chunks, and add what the forecaster knows beyond the alerter's contract.
ALTER TABLE forecast_crossing ADD COLUMN IF NOT EXISTS lead_hours double precision;
ALTER TABLE forecast_crossing ADD COLUMN IF NOT EXISTS raw_probability double precision;
ALTER TABLE forecast_crossing ADD COLUMN IF NOT EXISTS rule text;
SELECT create_hypertable('forecast_crossing', by_range('computed_at', INTERVAL '1 day'),
                         migrate_data => true);

ALTER TABLE lot_breach_prediction ADD COLUMN IF NOT EXISTS run_id bigint;
ALTER TABLE lot_breach_prediction ADD COLUMN IF NOT EXISTS predicted_removal_at timestamptz;
ALTER TABLE lot_breach_prediction ADD COLUMN IF NOT EXISTS congestion double precision;
SELECT create_hypertable('lot_breach_prediction', by_range('computed_at', INTERVAL '1 day'),
                         migrate_data => true);
