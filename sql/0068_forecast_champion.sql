-- The forecast warning champion per indicator (issue 13): `quaywatch backtest --apply` now
-- compares Prophet's candidate rules with the seasonal-naive baselines and stores which method
-- won (`method`), its scores, the runner-up's (the best of the other methods) and why. A
-- baseline champion makes the cycle publish that indicator's crossings from the series' own
-- value one season back; Prophet stays the forecast of record. `conformal_factor` is the
-- backtest's median split-conformal widening of Prophet's 80 % band, applied to stored bands.
ALTER TABLE forecast_decision
    ADD COLUMN method text NOT NULL DEFAULT 'prophet'
        CHECK (method IN ('prophet', 'seasonal_naive_24h', 'seasonal_naive_168h')),
    ADD COLUMN f1 double precision,
    ADD COLUMN precision double precision,
    ADD COLUMN recall double precision,
    ADD COLUMN false_alarm_episodes_per_site_week double precision,
    ADD COLUMN median_lead_hours double precision,
    ADD COLUMN runner_up text,
    ADD COLUMN runner_up_f1 double precision,
    ADD COLUMN runner_up_precision double precision,
    ADD COLUMN runner_up_recall double precision,
    ADD COLUMN runner_up_false_alarm_episodes_per_site_week double precision,
    ADD COLUMN runner_up_median_lead_hours double precision,
    ADD COLUMN reason text,
    ADD COLUMN conformal_factor double precision CHECK (conformal_factor > 0);

-- Columns appended at the end, so the view keeps its grants (sql/0051).
CREATE OR REPLACE VIEW reporting.forecast_decision AS
SELECT d.chosen_at AS time, d.indicator_code AS indicator, d.rule, d.min_probability,
       d.consecutive, d.false_alarm_budget, d.backtest_id, d.method, d.f1,
       d.false_alarm_episodes_per_site_week, d.runner_up, d.reason, d.conformal_factor
FROM forecast_decision d;
