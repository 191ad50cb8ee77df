-- The forecaster's tables: runs, forecast rows, per-series model state, failures, the warning
-- champion per indicator, backtest scores, and the two tables the alerter's forecast and deadline
-- rules read (forecast_crossing, lot_breach_prediction). forecaster/store.py writes the cycle's
-- rows, forecaster/crossings/decision_store.py the champions; the alerter only reads.

-- For each series and forecast run, when the forecast crosses a threshold in a direction
-- ('above' | 'below') and how likely that is. Forecast rules read the newest run per series.
-- lead_hours, raw_probability (before calibration) and rule are what the forecaster knows
-- beyond the alerter's contract.
CREATE TABLE forecast_crossing (
    series_id        int NOT NULL,
    run_id           bigint NOT NULL,
    computed_at      timestamptz NOT NULL,
    threshold        double precision NOT NULL,
    direction        text NOT NULL,
    crossing_at      timestamptz,
    probability      double precision NOT NULL,
    lead_hours       double precision,
    raw_probability  double precision,
    rule             text
);
CREATE INDEX forecast_crossing_series_idx ON forecast_crossing (series_id, computed_at DESC);

-- Per hazardous lot visit, the predicted chance of breaching its storage deadline. Deadline
-- rules read the newest prediction per lot visit.
CREATE TABLE lot_breach_prediction (
    lot_id                text NOT NULL,
    computed_at           timestamptz NOT NULL,
    breach_probability    double precision NOT NULL,
    predicted_breach_at   timestamptz,
    run_id                bigint,
    predicted_removal_at  timestamptz,
    congestion            double precision,
    site_id               text,
    visit_no              int
);
CREATE INDEX lot_breach_prediction_lot_idx
    ON lot_breach_prediction (site_id, lot_id, visit_no, computed_at DESC);

-- Both grow every cycle: hypertables (1-day chunks), so retention drops whole chunks.
SELECT create_hypertable('forecast_crossing', by_range('computed_at', INTERVAL '1 day'));
SELECT create_hypertable('lot_breach_prediction', by_range('computed_at', INTERVAL '1 day'));

-- One row per forecast cycle. series_reused counts series whose training window had not changed
-- since their last fit: their previous forecast stands (see forecast_model.data_hash).
-- series_refreshed counts the series forecast from their stored fit; series_ok includes them.
CREATE TABLE forecast_run (
    run_id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at        timestamptz NOT NULL,
    finished_at       timestamptz,
    series_total      int NOT NULL DEFAULT 0,
    series_ok         int NOT NULL DEFAULT 0,
    series_reused     int NOT NULL DEFAULT 0,
    series_skipped    int NOT NULL DEFAULT 0,
    series_failed     int NOT NULL DEFAULT 0,
    crossings         int NOT NULL DEFAULT 0,
    lots_scored       int NOT NULL DEFAULT 0,
    config            jsonb NOT NULL DEFAULT '{}',
    series_refreshed  int NOT NULL DEFAULT 0
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
-- warm_start document (forecaster/store.py WARM_START_FORMAT). fit_state is the frame of the
-- last fit (forecaster/prophet/stored_fit.py: time origin and scale, value scale, changepoint
-- dates, feature counts, a few hundred bytes): between refits the cycle forecasts a changed
-- window from this fit without optimising again, so fitted_at, history_end and n_points stay
-- those of the fit while run_id and data_hash follow every forecast. A NULL fit_state means the
-- next changed window is fitted.
CREATE TABLE forecast_model (
    series_id       int PRIMARY KEY REFERENCES series (series_id) ON DELETE CASCADE,
    run_id          bigint NOT NULL,
    format_version  int NOT NULL,
    fitted_at       timestamptz NOT NULL,
    history_end     timestamptz NOT NULL,
    n_points        int NOT NULL,
    data_hash       text NOT NULL,
    fit_seconds     double precision,
    warm_start      jsonb NOT NULL,
    fit_state       jsonb
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

-- The warning champion per indicator, chosen by backtest (`quaywatch backtest --apply` and the
-- scheduled re-selection, docs/forecasting.md): which method won (`method`), its decision rule
-- and the isotonic calibration of its probabilities, its scores, the runner-up's (the best of
-- the other methods) and why. A baseline or blend champion makes the cycle publish that
-- indicator's crossings from the seasonal naive or weekly mean of the series, alone or averaged
-- with Prophet's forecast with Prophet's band shifted by the same amount
-- (forecaster/crossings/blend.py); Prophet stays the forecast of record. conformal_factor is
-- the backtest's median split-conformal widening of Prophet's 80 % band, applied to stored
-- bands. An indicator without a row uses forecaster/crossings/decision.py DEFAULT_RULE and
-- uncalibrated probabilities.
CREATE TABLE forecast_decision (
    indicator_code      text PRIMARY KEY REFERENCES indicator (code) ON DELETE CASCADE,
    rule                text NOT NULL CHECK (rule IN ('yhat', 'edge', 'probability')),
    min_probability     double precision NOT NULL DEFAULT 0.5,
    consecutive         int NOT NULL DEFAULT 1 CHECK (consecutive >= 1),
    calibration_x       double precision[] NOT NULL DEFAULT '{}',
    calibration_y       double precision[] NOT NULL DEFAULT '{}',
    false_alarm_budget  double precision,
    backtest_id         bigint,
    chosen_at           timestamptz NOT NULL DEFAULT now(),
    method              text NOT NULL DEFAULT 'prophet',
    f1                  double precision,
    precision           double precision,
    recall              double precision,
    false_alarm_episodes_per_site_week double precision,
    median_lead_hours   double precision,
    runner_up           text,
    runner_up_f1        double precision,
    runner_up_precision double precision,
    runner_up_recall    double precision,
    runner_up_false_alarm_episodes_per_site_week double precision,
    runner_up_median_lead_hours double precision,
    reason              text,
    conformal_factor    double precision CHECK (conformal_factor > 0),
    CONSTRAINT forecast_decision_method_check CHECK (
        method IN (
            'prophet', 'seasonal_naive_24h', 'seasonal_naive_168h',
            'blend_24h', 'blend_168h', 'blend_mean_3w'
        )
    )
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
