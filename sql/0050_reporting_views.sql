-- The reporting schema: the only objects Grafana reads (through quaywatch_grafana, 0051).
-- Views run with their owner's rights, so the reader needs SELECT on these views and nothing in
-- public. Each view puts `time` first and exposes ids and names side by side: panel SQL filters
-- on ids (index use) and shows names. Labels are Chinese then English ("洋山深水港 Yangshan ...").
CREATE SCHEMA IF NOT EXISTS reporting;

-- Every node of the org tree with its customs and office ancestors (path[2], path[3]).
CREATE VIEW reporting.node AS
SELECT n.node_id,
       n.level,
       n.parent_id,
       n.name_en,
       n.name_zh,
       coalesce(n.name_zh || ' ' || n.name_en, n.name_en) AS label,
       n.path[2] AS customs_id,
       n.path[3] AS office_id,
       n.longitude AS lon,
       n.latitude AS lat
FROM org_node n;

-- One row per site with its office and customs: the map's points and the variables' options.
CREATE VIEW reporting.site AS
SELECT s.node_id AS site_id,
       s.name_en AS site_name,
       s.name_zh AS site_name_zh,
       coalesce(s.name_zh || ' ' || s.name_en, s.name_en) AS site_label,
       s.site_type,
       s.locode,
       s.longitude AS lon,
       s.latitude AS lat,
       s.timezone,
       o.node_id AS office_id,
       o.name_en AS office_name,
       o.name_zh AS office_name_zh,
       coalesce(o.name_zh || ' ' || o.name_en, o.name_en) AS office_label,
       c.node_id AS customs_id,
       c.name_en AS customs_name,
       c.name_zh AS customs_name_zh,
       coalesce(c.name_zh || ' ' || c.name_en, c.name_en) AS customs_label
FROM org_node s
JOIN org_node o ON o.node_id = s.path[3]
JOIN org_node c ON c.node_id = s.path[2]
WHERE s.level = 'site';

-- The indicator catalogue (the one definition per indicator), for legends and docs panels.
CREATE VIEW reporting.indicator AS
SELECT code, name_en, name_zh, coalesce(name_zh || ' ' || name_en, name_en) AS label,
       unit, theme, direction, definition, forecastable
FROM indicator;

-- Minute points of every series. Filter on node_id / customs_id / level and indicator: the
-- planner then reads series by its unique key and metric_point by (series_id, time).
CREATE VIEW reporting.metric AS
SELECT p.time,
       s.node_id,
       n.level,
       n.path[2] AS customs_id,
       n.path[3] AS office_id,
       coalesce(n.name_zh || ' ' || n.name_en, n.name_en) AS node_label,
       s.indicator_code AS indicator,
       coalesce(i.name_zh || ' ' || i.name_en, i.name_en) AS indicator_label,
       i.unit,
       p.value
FROM metric_point p
JOIN series s ON s.series_id = p.series_id
JOIN org_node n ON n.node_id = s.node_id
JOIN indicator i ON i.code = s.indicator_code;

-- Hourly rollup of the same series (for ranges of days to months); value is the hourly mean.
CREATE VIEW reporting.metric_hourly AS
SELECT h.bucket AS time,
       s.node_id,
       n.level,
       n.path[2] AS customs_id,
       n.path[3] AS office_id,
       coalesce(n.name_zh || ' ' || n.name_en, n.name_en) AS node_label,
       s.indicator_code AS indicator,
       coalesce(i.name_zh || ' ' || i.name_en, i.name_en) AS indicator_label,
       i.unit,
       h.avg AS value,
       h.min,
       h.max,
       h.last,
       h.n
FROM metric_hourly h
JOIN series s ON s.series_id = h.series_id
JOIN org_node n ON n.node_id = s.node_id
JOIN indicator i ON i.code = s.indicator_code;

-- The latest value of every series (series_latest is upserted each metrics cycle).
CREATE VIEW reporting.latest_status AS
SELECT l.time,
       s.node_id,
       n.level,
       n.path[2] AS customs_id,
       n.path[3] AS office_id,
       coalesce(n.name_zh || ' ' || n.name_en, n.name_en) AS node_label,
       s.indicator_code AS indicator,
       coalesce(i.name_zh || ' ' || i.name_en, i.name_en) AS indicator_label,
       i.unit,
       i.direction,
       l.value
FROM series_latest l
JOIN series s ON s.series_id = l.series_id
JOIN org_node n ON n.node_id = s.node_id
JOIN indicator i ON i.code = s.indicator_code;

-- Hazardous lots still at their site, with the storage-deadline countdown at query time.
-- deadline_status: overdue (past the deadline), near_deadline (past the warning point), ok.
CREATE VIEW reporting.hazardous_lots AS
SELECT l.arrived_at AS time,
       l.lot_id,
       l.site_id,
       si.site_label,
       si.office_id,
       si.customs_id,
       si.customs_label,
       l.hazard_class,
       l.un_number,
       l.packing_group,
       l.stage,
       l.on_hold,
       l.limit_hours,
       l.arrived_at,
       l.warn_at,
       l.deadline_at,
       extract(epoch FROM (now() - l.arrived_at))::float8 / 3600 AS dwell_hours,
       extract(epoch FROM (l.deadline_at - now()))::float8 / 3600 AS hours_to_deadline,
       l.deadline_at <= now() AS overdue,
       l.warn_at <= now() AND l.deadline_at > now() AS near_deadline,
       CASE WHEN l.deadline_at <= now() THEN 'overdue'
            WHEN l.warn_at <= now() THEN 'near_deadline'
            ELSE 'ok' END AS deadline_status
FROM lot l
JOIN reporting.site si ON si.site_id = l.site_id
WHERE l.hazard_class IS NOT NULL AND l.removed_at IS NULL AND l.arrived_at IS NOT NULL;

-- Every alert transition from the alerter's outbox. `time` is when the state changed: the
-- start of a firing, the end of a resolution. firing is 1/0 for state timelines.
CREATE VIEW reporting.alert_history AS
SELECT CASE WHEN e.status = 'resolved' THEN coalesce(e.ends_at, e.created_at)
            ELSE e.starts_at END AS time,
       e.event_id,
       e.fingerprint,
       e.rule_id,
       coalesce(e.labels ->> 'alertname', 'rule ' || e.rule_id) AS alertname,
       e.status,
       (e.status = 'firing')::int AS firing,
       e.severity,
       CASE e.severity WHEN 'critical' THEN 3 WHEN 'warning' THEN 2 WHEN 'info' THEN 1
                       ELSE 0 END AS severity_rank,
       e.node_id,
       n.level AS node_level,
       coalesce(n.name_zh || ' ' || n.name_en, n.name_en) AS node_label,
       n.path[2] AS customs_id,
       n.path[3] AS office_id,
       CASE WHEN n.level = 'site' THEN e.node_id END AS site_id,
       e.value,
       e.starts_at,
       e.ends_at,
       coalesce(e.annotations ->> 'summary', '') AS summary
FROM alert_event e
JOIN org_node n ON n.node_id = e.node_id;

-- Alerts firing now: the newest transition of each fingerprint, when it is a firing.
CREATE VIEW reporting.alerts AS
SELECT h.*
FROM (SELECT DISTINCT ON (fingerprint) *
      FROM reporting.alert_history
      ORDER BY fingerprint, event_id DESC) h
WHERE h.status = 'firing';

-- One row per site: its latest key figures, firing alerts and a status for the map.
-- status: 0 ok, 1 warning (hazardous lots near deadline or any alert firing), 2 critical
-- (hazardous lots overdue or a critical alert firing), 3 no data (no metrics in 15 minutes:
-- the collector is three cycles behind).
CREATE VIEW reporting.site_status AS
WITH latest AS (
    SELECT s.node_id AS site_id,
           max(l.time) AS updated_at,
           max(l.value) FILTER (WHERE s.indicator_code = 'hazardous_lots_held') AS hazardous_held,
           max(l.value) FILTER (WHERE s.indicator_code = 'hazardous_overdue') AS overdue,
           max(l.value) FILTER (WHERE s.indicator_code = 'hazardous_near_deadline') AS near_deadline,
           max(l.value) FILTER (WHERE s.indicator_code = 'hazardous_max_overdue_hours')
               AS max_overdue_hours,
           max(l.value) FILTER (WHERE s.indicator_code = 'clearance_time_p50_hours')
               AS clearance_p50_hours,
           max(l.value) FILTER (WHERE s.indicator_code = 'clearance_time_p90_hours')
               AS clearance_p90_hours,
           max(l.value) FILTER (WHERE s.indicator_code = 'lots_on_site') AS lots_on_site,
           max(l.value) FILTER (WHERE s.indicator_code = 'lots_on_hold') AS lots_on_hold,
           max(l.value) FILTER (WHERE s.indicator_code = 'inspection_backlog_24h')
               AS inspection_backlog,
           max(l.value) FILTER (WHERE s.indicator_code = 'feed_silence_minutes')
               AS feed_silence_minutes
    FROM series_latest l
    JOIN series s ON s.series_id = l.series_id
    JOIN org_node n ON n.node_id = s.node_id AND n.level = 'site'
    GROUP BY s.node_id
), firing AS (
    SELECT node_id AS site_id,
           count(*) AS alerts_firing,
           count(*) FILTER (WHERE severity = 'critical') AS critical_firing
    FROM reporting.alerts
    GROUP BY node_id
), merged AS (
    SELECT si.*,
           lt.updated_at,
           coalesce(lt.hazardous_held, 0) AS hazardous_held,
           coalesce(lt.overdue, 0) AS overdue,
           coalesce(lt.near_deadline, 0) AS near_deadline,
           coalesce(lt.max_overdue_hours, 0) AS max_overdue_hours,
           lt.clearance_p50_hours,
           lt.clearance_p90_hours,
           coalesce(lt.lots_on_site, 0) AS lots_on_site,
           coalesce(lt.lots_on_hold, 0) AS lots_on_hold,
           coalesce(lt.inspection_backlog, 0) AS inspection_backlog,
           lt.feed_silence_minutes,
           coalesce(f.alerts_firing, 0) AS alerts_firing,
           coalesce(f.critical_firing, 0) AS critical_firing
    FROM reporting.site si
    LEFT JOIN latest lt USING (site_id)
    LEFT JOIN firing f USING (site_id)
)
SELECT m.*,
       CASE WHEN m.updated_at IS NULL OR m.updated_at < now() - interval '15 minutes' THEN 3
            WHEN m.overdue > 0 OR m.critical_firing > 0 THEN 2
            WHEN m.near_deadline > 0 OR m.alerts_firing > 0 THEN 1
            ELSE 0 END AS status
FROM merged m;

-- Station feeds and their health. The URL and credentials are left out on purpose: a feed URL
-- may carry a token, and Grafana viewers must not see it.
CREATE VIEW reporting.feed_health AS
SELECT f.last_polled_at AS time,
       f.feed_id,
       f.site_id,
       si.site_label,
       si.customs_id,
       f.enabled,
       f.interval_s,
       f.last_polled_at,
       f.last_ok_at,
       f.consecutive_failures,
       f.events_total,
       f.consecutive_failures = 0 AS healthy
FROM station_feed f
LEFT JOIN reporting.site si ON si.site_id = f.site_id;

-- Notable moments at a site, for annotations: holds placed and lifted (from the events) and
-- hazardous storage deadlines that passed while the lot was still there (from lot state).
CREATE VIEW reporting.site_events AS
SELECT e.occurred_at AS time,
       e.site_id,
       e.kind,
       e.lot_id,
       CASE e.kind WHEN 'held' THEN '扣留 hold placed: ' ELSE '解除扣留 hold lifted: ' END
           || e.lot_id AS text
FROM cargo_event e
WHERE e.kind IN ('held', 'hold_lifted')
UNION ALL
SELECT l.deadline_at AS time,
       l.site_id,
       'deadline_passed' AS kind,
       l.lot_id,
       '超期 storage deadline passed: ' || l.lot_id || ' (class ' || l.hazard_class || ')' AS text
FROM lot l
WHERE l.hazard_class IS NOT NULL
  AND l.deadline_at <= now()
  AND coalesce(l.removed_at, 'infinity') > l.deadline_at;

-- The port dashboard's hold annotations read one site's holds over the time range. Without this
-- index PostgreSQL reads every event of the site in the range and filters by kind: 324 ms over
-- 30 days at Yangshan in bench/bench_panel_latency.py.
CREATE INDEX cargo_event_site_holds_idx ON cargo_event (site_id, occurred_at)
    WHERE kind IN ('held', 'hold_lifted');
