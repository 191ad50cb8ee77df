-- Alert views over the alerter's state tables (0021): alert_history records every transition
-- (Pending, Firing, Recovering, Normal, NoData, Error) and alert_instance the current state,
-- which the outbox alert_event (0050's source) only approximates. Same columns as 0050, in the
-- same order (CREATE OR REPLACE keeps reporting.site_status working), plus the state itself.
-- state_code orders the states for state timelines: 0 Normal, 1 Pending, 2 Firing,
-- 3 Recovering, 4 NoData, 5 Error.
CREATE OR REPLACE VIEW reporting.alert_history AS
SELECT h.at AS time,
       h.history_id AS event_id,
       h.fingerprint,
       h.rule_id,
       coalesce(h.labels ->> 'alertname', r.name, 'rule ' || h.rule_id) AS alertname,
       CASE WHEN h.to_state IN ('Firing', 'Recovering') THEN 'firing'
            WHEN h.to_state = 'Normal' THEN 'resolved'
            ELSE lower(h.to_state) END AS status,
       (h.to_state IN ('Firing', 'Recovering'))::int AS firing,
       coalesce(h.labels ->> 'severity', r.severity, '') AS severity,
       CASE coalesce(h.labels ->> 'severity', r.severity) WHEN 'critical' THEN 3
            WHEN 'warning' THEN 2 WHEN 'info' THEN 1 ELSE 0 END AS severity_rank,
       h.node_id,
       n.level AS node_level,
       coalesce(n.name_zh || ' ' || n.name_en, n.name_en) AS node_label,
       n.path[2] AS customs_id,
       n.path[3] AS office_id,
       CASE WHEN n.level = 'site' THEN h.node_id END AS site_id,
       h.value,
       h.at AS starts_at,
       NULL::timestamptz AS ends_at,
       h.reason AS summary,
       h.to_state AS state,
       CASE h.to_state WHEN 'Normal' THEN 0 WHEN 'Pending' THEN 1 WHEN 'Firing' THEN 2
            WHEN 'Recovering' THEN 3 WHEN 'NoData' THEN 4 ELSE 5 END AS state_code
FROM alert_history h
JOIN org_node n ON n.node_id = h.node_id
LEFT JOIN alert_rule r ON r.rule_id = h.rule_id
WHERE h.fingerprint IS NOT NULL;

-- Alerts firing now (Recovering is still firing: keep_firing_for has not run out).
CREATE OR REPLACE VIEW reporting.alerts AS
SELECT coalesce(i.fired_at, i.since) AS time,
       NULL::bigint AS event_id,
       i.fingerprint,
       i.rule_id,
       coalesce(i.labels ->> 'alertname', 'rule ' || i.rule_id) AS alertname,
       'firing'::text AS status,
       1 AS firing,
       i.severity,
       CASE i.severity WHEN 'critical' THEN 3 WHEN 'warning' THEN 2 WHEN 'info' THEN 1
                       ELSE 0 END AS severity_rank,
       i.node_id,
       n.level AS node_level,
       coalesce(n.name_zh || ' ' || n.name_en, n.name_en) AS node_label,
       n.path[2] AS customs_id,
       n.path[3] AS office_id,
       CASE WHEN n.level = 'site' THEN i.node_id END AS site_id,
       i.last_value AS value,
       coalesce(i.fired_at, i.since) AS starts_at,
       NULL::timestamptz AS ends_at,
       coalesce(i.annotations ->> 'summary', '') AS summary,
       i.state,
       CASE i.state WHEN 'Firing' THEN 2 ELSE 3 END AS state_code,
       i.acknowledged_at IS NOT NULL AS acknowledged
FROM alert_instance i
JOIN org_node n ON n.node_id = i.node_id
WHERE i.state IN ('Firing', 'Recovering');

GRANT SELECT ON reporting.alert_history, reporting.alerts TO quaywatch_grafana;
