-- Alert rules, their per-subtree overrides, rule health, alert instances and their state
-- history, and the outbox to notification delivery. alerter/rules/store.py writes the rules and
-- overrides, alerter/evaluation/store.py the rest (evaluation's step, alert_state.py).

-- The outbox between alert evaluation and notification delivery. Evaluation inserts one row per
-- notifiable transition (firing, resolved) in the same transaction as the state change; dispatch
-- claims unprocessed rows with FOR UPDATE SKIP LOCKED, so a crash loses nothing and a retry
-- never re-evaluates.
CREATE TABLE alert_event (
    event_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    fingerprint   text        NOT NULL,
    rule_id       int         NOT NULL,
    node_id       text        NOT NULL REFERENCES org_node (node_id),
    status        text        NOT NULL CHECK (status IN ('firing', 'resolved')),
    severity      text        NOT NULL,
    labels        jsonb       NOT NULL DEFAULT '{}',
    annotations   jsonb       NOT NULL DEFAULT '{}',
    value         double precision,
    starts_at     timestamptz NOT NULL,
    ends_at       timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    processed_at  timestamptz
);
CREATE INDEX alert_event_pending_idx ON alert_event (event_id) WHERE processed_at IS NULL;
CREATE INDEX alert_event_fingerprint_idx ON alert_event (fingerprint, created_at DESC);

-- A rule belongs to an org node and applies to every node of the chosen level in its subtree.
-- `spec` is the validated rule (alerter/rules/kinds.py) and is authoritative; the other columns
-- are copies of its fields that lists filter on, written by the same statement.
CREATE TABLE alert_rule (
    rule_id          int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- the stable key `quaywatch rules apply` upserts by
    name             text NOT NULL UNIQUE,
    node_id          text NOT NULL REFERENCES org_node (node_id),
    kind             text NOT NULL CHECK (kind IN ('threshold', 'forecast', 'deadline', 'no_data')),
    level            text NOT NULL CHECK (level IN ('national', 'customs', 'office', 'site')),
    indicator_code   text,
    severity         text NOT NULL CHECK (severity IN ('critical', 'warning', 'info')),
    enabled          boolean NOT NULL DEFAULT true,
    override_policy  text NOT NULL CHECK (override_policy IN ('none', 'tighten_only', 'any')),
    spec             jsonb NOT NULL,
    -- "one discovery, nationwide warning": an office proposes, a national admin publishes
    proposal_status  text NOT NULL DEFAULT 'none'
                     CHECK (proposal_status IN ('none', 'proposed', 'published')),
    origin_node_id   text NOT NULL REFERENCES org_node (node_id),
    proposed_at      timestamptz,
    proposed_by      text,
    proposal_comment text,
    published_at     timestamptz,
    published_by     text,
    version          int NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    created_by       text NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    updated_by       text NOT NULL
);
CREATE INDEX alert_rule_node_idx ON alert_rule (node_id);

-- A descendant node's value for a rule's tunable parameter (threshold, hours before deadline,
-- silence minutes), valid for its subtree when the rule's override_policy allows it. An
-- override may also narrow the policy for the nodes below it.
CREATE TABLE alert_rule_override (
    rule_id             int NOT NULL REFERENCES alert_rule (rule_id) ON DELETE CASCADE,
    node_id             text NOT NULL REFERENCES org_node (node_id),
    threshold           double precision NOT NULL,
    recovery_threshold  double precision,
    override_policy     text CHECK (override_policy IN ('none', 'tighten_only', 'any')),
    comment             text NOT NULL DEFAULT '',
    set_by              text NOT NULL,
    set_at              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (rule_id, node_id)
);

-- Each rule's health after its last evaluation (kept apart from alert_rule so the 30-second
-- cycle does not touch the configuration rows and their version).
CREATE TABLE alert_rule_status (
    rule_id        int PRIMARY KEY REFERENCES alert_rule (rule_id) ON DELETE CASCADE,
    health         text NOT NULL CHECK (health IN ('ok', 'nodata', 'error')),
    last_error     text,
    last_eval_at   timestamptz NOT NULL,
    duration_ms    double precision NOT NULL,
    instances      int NOT NULL DEFAULT 0
);

-- Alert instances that are not Normal (Normal ones are implied by the absence of a row, so a
-- cycle over 10,000 healthy series writes nothing). No foreign key to alert_rule: the
-- instances of a deleted or disabled rule must outlive it until the next evaluation resolves
-- them and tells the outbox.
CREATE TABLE alert_instance (
    fingerprint      text PRIMARY KEY,
    rule_id          int NOT NULL,
    node_id          text NOT NULL REFERENCES org_node (node_id),
    severity         text NOT NULL,
    labels           jsonb NOT NULL,
    annotations      jsonb NOT NULL DEFAULT '{}',
    state            text NOT NULL
                     CHECK (state IN ('Normal', 'Pending', 'Firing', 'Recovering', 'NoData', 'Error')),
    since            timestamptz NOT NULL,
    fired_at         timestamptz,
    last_value       double precision,
    last_eval        timestamptz NOT NULL,
    -- what the outbox last said about this instance: firing, resolved, or nothing yet
    notified         text CHECK (notified IN ('firing', 'resolved')),
    missing_evals    int NOT NULL DEFAULT 0,
    error            text,
    acknowledged_at  timestamptz,
    acknowledged_by  text,
    ack_comment      text,
    -- An acknowledgement ends: until ack_until it holds back repeat notifications of the alert
    -- (alerter/delivery/stages.py:acknowledged); DELETE /api/v1/alerts/<id>/ack withdraws it.
    -- NULL: an acknowledgement recorded before they ended, which holds nothing back.
    ack_until        timestamptz
);
CREATE INDEX alert_instance_rule_idx ON alert_instance (rule_id);
CREATE INDEX alert_instance_node_idx ON alert_instance (node_id);

-- Every state transition (and acknowledgements), for state timelines and annotations. Rule
-- health changes have no fingerprint.
CREATE TABLE alert_history (
    at           timestamptz NOT NULL,
    history_id   bigint GENERATED ALWAYS AS IDENTITY,
    rule_id      int NOT NULL,
    fingerprint  text,
    node_id      text,
    labels       jsonb NOT NULL DEFAULT '{}',
    from_state   text,
    to_state     text NOT NULL,
    value        double precision,
    reason       text NOT NULL DEFAULT ''
);
SELECT create_hypertable('alert_history', by_range('at', INTERVAL '30 days'));
CREATE INDEX alert_history_fingerprint_idx ON alert_history (fingerprint, at DESC);
CREATE INDEX alert_history_rule_idx ON alert_history (rule_id, at DESC);
CREATE INDEX alert_history_node_idx ON alert_history (node_id, at DESC);

-- For the forecaster: which (node, indicator, threshold, direction) crossings forecast rules
-- need, including every override's threshold (a refused override costs one extra crossing).
CREATE VIEW alert_forecast_target AS
SELECT r.rule_id, r.node_id, r.level, r.indicator_code,
       (r.spec ->> 'threshold')::float8 AS threshold,
       CASE WHEN r.spec ->> 'operator' IN ('<', '<=') THEN 'below' ELSE 'above' END AS direction,
       (r.spec ->> 'horizon_hours')::float8 AS horizon_hours
FROM alert_rule r
WHERE r.kind = 'forecast' AND r.enabled
UNION ALL
SELECT r.rule_id, o.node_id, r.level, r.indicator_code, o.threshold,
       CASE WHEN r.spec ->> 'operator' IN ('<', '<=') THEN 'below' ELSE 'above' END,
       (r.spec ->> 'horizon_hours')::float8
FROM alert_rule r
JOIN alert_rule_override o ON o.rule_id = r.rule_id
WHERE r.kind = 'forecast' AND r.enabled;

