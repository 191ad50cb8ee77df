-- What the indicator catalogue and forecast-quality dashboards read (grafana/generator/):
-- the indicator's lifecycle state, the threshold each alert rule applies at each node, the
-- series a forecast run failed or skipped, and breach predictions beside what happened to
-- the lot. Views only: quaywatch_grafana keeps SELECT on reporting and nothing in public.

-- state appended at the end, so the view keeps its grants and column order (sql/0051).
CREATE OR REPLACE VIEW reporting.indicator AS
SELECT code, name_en, name_zh, coalesce(name_zh || ' ' || name_en, name_en) AS label,
       unit, theme, direction, definition, forecastable, state
FROM indicator;

-- The threshold of every enabled threshold or forecast rule at every node it applies to (the
-- rule's level inside its owner's subtree): the deepest override on the node's path wins over
-- the rule's own threshold, as alerter/rules/inheritance.py walks the path. Unlike the alerter,
-- SQL does not judge overrides (tighten_only): one the alerter refuses still shows here.
-- Filter on node_id: the DISTINCT ON keys include it, so the
-- planner applies the filter before the sort.
CREATE VIEW reporting.rule_threshold AS
SELECT DISTINCT ON (r.rule_id, t.node_id)
       t.node_id,
       t.level,
       r.indicator_code AS indicator,
       r.rule_id,
       r.name AS rule_name,
       r.kind,
       r.severity,
       coalesce(o.threshold, (r.spec ->> 'threshold')::float8) AS threshold,
       coalesce(r.spec ->> 'operator', '>') AS operator,
       CASE WHEN r.spec ->> 'operator' IN ('<', '<=') THEN 'below' ELSE 'above' END AS direction,
       o.node_id AS override_node_id
FROM alert_rule r
JOIN org_node t ON t.level = r.level AND r.node_id = ANY (t.path)
LEFT JOIN alert_rule_override o ON o.rule_id = r.rule_id AND o.node_id = ANY (t.path)
LEFT JOIN org_node onode ON onode.node_id = o.node_id
WHERE r.enabled AND r.kind IN ('threshold', 'forecast') AND r.spec ? 'threshold'
ORDER BY r.rule_id, t.node_id, cardinality(onode.path) DESC NULLS LAST;

-- Series a forecast run failed (an error) or skipped (too little data), with the reason.
CREATE VIEW reporting.forecast_failure AS
SELECT r.started_at AS time,
       f.run_id,
       s.node_id,
       n.level,
       coalesce(n.name_zh || ' ' || n.name_en, n.name_en) AS node_label,
       s.indicator_code AS indicator,
       coalesce(i.name_zh || ' ' || i.name_en, i.name_en) AS indicator_label,
       f.outcome,
       f.reason
FROM forecast_failure f
JOIN forecast_run r ON r.run_id = f.run_id
JOIN series s ON s.series_id = f.series_id
JOIN org_node n ON n.node_id = s.node_id
JOIN indicator i ON i.code = s.indicator_code;

-- Per hazardous lot visit: the newest breach prediction made before its deadline, and what
-- happened. predicted_breach follows the forecaster's own cut (predicted_breach_at is set
-- when P >= 0.5, docs/forecasting.md section 4); outcome is 'breached' once the lot stayed past
-- its deadline, 'kept' when it left in time, 'pending' while it is held before the deadline.
CREATE VIEW reporting.breach_outcome AS
SELECT p.computed_at AS time,
       l.lot_id,
       l.site_id,
       n.path[2] AS customs_id,
       n.path[3] AS office_id,
       l.visit_no,
       l.hazard_class,
       l.deadline_at,
       l.removed_at,
       p.breach_probability,
       p.breach_probability >= 0.5 AS predicted_breach,
       CASE WHEN coalesce(l.removed_at, now()) > l.deadline_at THEN 'breached'
            WHEN l.removed_at IS NOT NULL THEN 'kept'
            ELSE 'pending' END AS outcome
FROM lot l
JOIN org_node n ON n.node_id = l.site_id
JOIN LATERAL (
    SELECT * FROM lot_breach_prediction bp
    WHERE bp.site_id = l.site_id AND bp.lot_id = l.lot_id AND bp.visit_no = l.visit_no
      AND bp.computed_at < l.deadline_at
    ORDER BY bp.computed_at DESC LIMIT 1) p ON true
WHERE l.hazard_class IS NOT NULL AND l.deadline_at IS NOT NULL;

-- The default privileges of 0051 cover views created by the same owner; a deployment whose
-- migrations ran as another role would miss them, so grant explicitly as 0052 and 0053 do.
GRANT SELECT ON reporting.indicator, reporting.rule_threshold, reporting.forecast_failure,
    reporting.breach_outcome TO quaywatch_grafana;
