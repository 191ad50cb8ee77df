-- Inhibit rules (Alertmanager inhibit_rules): a firing alert matching source_matchers mutes
-- the firing alerts matching target_matchers that carry the same values of the `equal` labels.
-- A rule belongs to a node and applies only to source and target alerts of that node's
-- subtree (alerter/delivery/inhibition.py); written by alerter/delivery/inhibit_rules.py.
CREATE TABLE inhibit_rule (
    inhibit_rule_id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node_id         text NOT NULL,
    name            text NOT NULL,
    source_matchers jsonb NOT NULL,
    target_matchers jsonb NOT NULL,
    equal           text[] NOT NULL DEFAULT '{}',
    enabled         boolean NOT NULL DEFAULT true,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (node_id, name),
    -- CASE, not AND: jsonb_array_length raises on a non-array, and AND need not short-circuit.
    CHECK (CASE WHEN jsonb_typeof(source_matchers) = 'array'
                THEN jsonb_array_length(source_matchers) > 0 ELSE false END),
    CHECK (CASE WHEN jsonb_typeof(target_matchers) = 'array'
                THEN jsonb_array_length(target_matchers) > 0 ELSE false END)
);

-- The rule QuayWatch shipped built in until now, so that behaviour is unchanged after the
-- upgrade: a site that stopped reporting (kind no_data) mutes its own threshold and forecast
-- alerts. It belongs to the national centre 'CN', so only a national token may change it.
INSERT INTO inhibit_rule (node_id, name, source_matchers, target_matchers, equal, created_by)
VALUES (
    'CN',
    'no data at a node mutes its threshold and forecast alerts',
    '[{"name": "kind", "op": "=", "value": "no_data"}]',
    '[{"name": "kind", "op": "=~", "value": "threshold|forecast"}]',
    '{node}',
    'seed'
);

-- NOT VALID: on a fresh install the org tree is seeded after the migrations (quaywatch db
-- seed), so 'CN' may not exist yet; every row written from now on is checked.
ALTER TABLE inhibit_rule ADD CONSTRAINT inhibit_rule_node_id_fkey
    FOREIGN KEY (node_id) REFERENCES org_node (node_id) NOT VALID;

-- Dispatch loads the firing alerts a rule's source matchers could match by `kind` (indexed in
-- sql/0022) or `alertname` (indexed here), so a rule on an alert name costs an index scan,
-- not a read of every firing alert.
CREATE INDEX active_alert_firing_alertname_idx ON active_alert ((labels ->> 'alertname'))
    WHERE status = 'firing';
