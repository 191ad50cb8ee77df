-- Notification delivery for Grafana (tables from 0022). No channel config, secrets or error
-- text is exposed: a webhook URL or bot token must never reach a dashboard viewer, and error
-- texts are only as safe as the vendor's reply. vendor_code says enough to act on.
CREATE VIEW reporting.channel AS
SELECT c.channel_id,
       c.name,
       c.kind,
       c.node_id,
       n.path[2] AS customs_id,
       c.enabled,
       s.last_success_at,
       s.last_error_at,
       s.blocked_until,
       coalesce(s.meta_firing, false) AS delivery_failing
FROM channel c
JOIN org_node n ON n.node_id = c.node_id
LEFT JOIN channel_state s ON s.channel_id = c.channel_id;

-- One row per delivery try (test sends included, flagged).
CREATE VIEW reporting.delivery_attempt AS
SELECT a.started_at AS time,
       a.attempt_id,
       a.notification_id,
       a.channel_id,
       c.name AS channel_name,
       c.kind,
       n.path[2] AS customs_id,
       a.attempt,
       a.status,
       (a.status = 'success')::int AS ok,
       a.vendor_code,
       a.latency_ms,
       a.parts,
       a.test
FROM delivery_attempt a
JOIN channel c ON c.channel_id = a.channel_id
JOIN org_node n ON n.node_id = c.node_id;

-- Dead letters: notifications whose retry budget is spent.
CREATE VIEW reporting.dead_letter AS
SELECT m.dead_at AS time,
       m.notification_id,
       m.channel_id,
       c.name AS channel_name,
       c.kind,
       n.path[2] AS customs_id,
       m.group_key,
       m.reason,
       m.alert_count,
       m.attempts,
       m.failures,
       m.created_at
FROM notification m
JOIN channel c ON c.channel_id = m.channel_id
JOIN org_node n ON n.node_id = c.node_id
WHERE m.state = 'dead';

GRANT SELECT ON reporting.channel, reporting.delivery_attempt, reporting.dead_letter
    TO quaywatch_grafana;
