-- Grafana's view of the forecaster (reporting schema, read by quaywatch_grafana: 0051 grants
-- SELECT on the schema's views, and its default privileges cover views added later).
CREATE SCHEMA IF NOT EXISTS reporting;

-- The latest forecast of every series: one row per target hour, with node and indicator labels.
-- Filter on node_id and indicator: the planner then reads forecast_model by series and the
-- forecast hypertable by its (series_id, run_id, ds) index.
CREATE VIEW reporting.forecast AS
SELECT f.ds AS time,
       s.node_id,
       n.level,
       n.path[2] AS customs_id,
       n.path[3] AS office_id,
       coalesce(n.name_zh || ' ' || n.name_en, n.name_en) AS node_label,
       s.indicator_code AS indicator,
       coalesce(i.name_zh || ' ' || i.name_en, i.name_en) AS indicator_label,
       i.unit,
       f.run_id,
       m.fitted_at,
       f.yhat,
       f.yhat_lower,
       f.yhat_upper
FROM forecast_model m
JOIN forecast f ON f.series_id = m.series_id AND f.run_id = m.run_id
JOIN series s ON s.series_id = m.series_id
JOIN org_node n ON n.node_id = s.node_id
JOIN indicator i ON i.code = s.indicator_code;

-- Every forecast row of every run still kept, for forecast-against-actual panels (pick the
-- run by its lead: time - fitted history end).
CREATE VIEW reporting.forecast_history AS
SELECT f.ds AS time,
       s.node_id,
       s.indicator_code AS indicator,
       f.run_id,
       r.started_at AS run_at,
       extract(epoch FROM (f.ds - r.started_at))::float8 / 3600 AS lead_hours,
       f.yhat,
       f.yhat_lower,
       f.yhat_upper
FROM forecast f
JOIN forecast_run r ON r.run_id = f.run_id
JOIN series s ON s.series_id = f.series_id;

-- Forecast cycles: duration and outcome counts.
CREATE VIEW reporting.forecast_run AS
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
       r.lots_scored
FROM forecast_run r;

-- The newest predicted threshold crossing per series, threshold and direction.
CREATE VIEW reporting.forecast_crossing AS
SELECT DISTINCT ON (c.series_id, c.threshold, c.direction)
       c.computed_at AS time,
       s.node_id,
       n.path[2] AS customs_id,
       n.path[3] AS office_id,
       coalesce(n.name_zh || ' ' || n.name_en, n.name_en) AS node_label,
       s.indicator_code AS indicator,
       c.threshold,
       c.direction,
       c.crossing_at,
       c.lead_hours,
       c.probability,
       c.rule
FROM forecast_crossing c
JOIN series s ON s.series_id = c.series_id
JOIN org_node n ON n.node_id = s.node_id
ORDER BY c.series_id, c.threshold, c.direction, c.computed_at DESC;

-- The newest breach prediction of each hazardous lot still at its site.
CREATE VIEW reporting.lot_breach_prediction AS
SELECT p.computed_at AS time,
       l.lot_id,
       l.site_id,
       n.path[2] AS customs_id,
       n.path[3] AS office_id,
       l.hazard_class,
       l.stage,
       l.deadline_at,
       p.breach_probability,
       p.predicted_breach_at,
       p.predicted_removal_at,
       p.congestion
FROM lot l
JOIN org_node n ON n.node_id = l.site_id
JOIN LATERAL (
    SELECT * FROM lot_breach_prediction bp
    WHERE bp.lot_id = l.lot_id ORDER BY bp.computed_at DESC LIMIT 1) p ON true
WHERE l.hazard_class IS NOT NULL AND l.removed_at IS NULL;

-- Backtest scores per method, for the forecast-quality dashboard.
CREATE VIEW reporting.backtest_result AS
SELECT b.started_at AS time,
       r.backtest_id,
       b.source,
       r.kind,
       r.subject,
       r.scope,
       r.method,
       r.chosen,
       r.horizon_hours,
       r.tp, r.fp, r.fn, r.tn,
       r.precision,
       r.recall,
       r.f1,
       r.false_alarm_rate,
       r.false_alarms_per_site_week,
       r.false_alarm_episodes_per_site_week,
       r.median_lead_hours,
       r.median_timing_error_hours,
       r.mae,
       r.coverage
FROM backtest_result r
JOIN backtest_run b ON b.backtest_id = r.backtest_id;

-- The decision rule in force per indicator.
CREATE VIEW reporting.forecast_decision AS
SELECT d.chosen_at AS time, d.indicator_code AS indicator, d.rule, d.min_probability,
       d.consecutive, d.false_alarm_budget, d.backtest_id
FROM forecast_decision d;
