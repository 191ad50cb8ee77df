-- The frame of a series' last fit (forecaster/prophet/stored_fit.py fit_state: time origin and
-- scale, value scale, changepoint dates, feature counts, a few hundred bytes), kept with its
-- parameters in warm_start. Between refits the cycle forecasts a changed window from this fit
-- without optimising again; fitted_at, history_end and n_points stay those of the fit, while
-- run_id and data_hash follow every forecast. NULL (rows written before this column) means
-- the next changed window is fitted.
ALTER TABLE forecast_model ADD COLUMN fit_state jsonb;

-- series_refreshed counts the series of a run forecast from their stored fit; series_ok
-- includes them.
ALTER TABLE forecast_run ADD COLUMN series_refreshed int NOT NULL DEFAULT 0;

CREATE OR REPLACE VIEW reporting.forecast_run AS
SELECT r.started_at AS time,
       r.run_id,
       r.finished_at,
       extract(epoch FROM (r.finished_at - r.started_at))::float8 AS seconds,
       r.series_total,
       r.series_ok,
       r.series_reused,
       r.series_skipped,
       r.series_failed,
       r.crossings,
       r.lots_scored,
       r.series_refreshed
FROM forecast_run r;
