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
