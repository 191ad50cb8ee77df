-- Notification delivery: channels on org nodes, silences, mute intervals, inhibit rules, and
-- the durable pipeline behind them: alert_event (the evaluation outbox, 0104) -> notify_group /
-- group_alert (Alertmanager's aggregation groups, kept in PostgreSQL so a restart loses
-- nothing) -> notification (one row per message to send, claimed with FOR UPDATE SKIP LOCKED)
-- -> delivery_attempt (one row per try). Written by alerter/delivery/: config_store.py
-- (channels, silences, mute intervals), suppression/inhibit_rules.py (inhibit rules), store.py
-- (groups and notifications) and sending/store.py (attempts, counters, notification states).

-- A channel attaches to an org node and receives alerts of that node's subtree that its
-- matchers accept. Secrets (bot URL, signing secret, bearer token) are kept apart from the
-- readable config so that no query the API runs for a read ever selects them, and encrypted at
-- rest: secrets_encrypted holds one Fernet token of the JSON mapping, sealed with the first key
-- of QUAYWATCH_SECRET_KEYS. A row whose secrets are still plain in `secrets` (written before
-- encryption, or by SQL, which has no key) is read as a legacy row and sealed by
-- `quaywatch channels rotate-secrets` (docs/channels.md).
CREATE TABLE channel (
    channel_id          int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node_id             text NOT NULL REFERENCES org_node (node_id),
    name                text NOT NULL,
    kind                text NOT NULL CHECK (kind IN ('webhook', 'alertmanager', 'dingtalk',
                            'wecom', 'feishu', 'slack')),
    config              jsonb NOT NULL DEFAULT '{}',
    secrets             jsonb NOT NULL DEFAULT '{}',
    -- hash of kind + URL: channels on one robot share its rate limit and its penalty
    bot_key             text NOT NULL,
    matchers            jsonb NOT NULL DEFAULT '[]',
    group_by            text[] NOT NULL DEFAULT '{alertname}',
    group_wait_s        int NOT NULL DEFAULT 30 CHECK (group_wait_s >= 0),
    group_interval_s    int NOT NULL DEFAULT 300 CHECK (group_interval_s > 0),
    repeat_interval_s   int NOT NULL DEFAULT 14400 CHECK (repeat_interval_s > 0),
    send_resolved       boolean NOT NULL DEFAULT true,
    lang                text NOT NULL DEFAULT 'zh' CHECK (lang IN ('zh', 'en')),
    -- NULL takes the vendor's documented limit (alerter/delivery/channel_config.py VENDOR_RATES)
    rate_per_minute     int CHECK (rate_per_minute > 0),
    fallback_channel_id int REFERENCES channel (channel_id) ON DELETE SET NULL
                            CHECK (fallback_channel_id <> channel_id),
    enabled             boolean NOT NULL DEFAULT true,
    created_by          text NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (node_id, name),
    secrets_encrypted   text,
    -- A row keeps its secrets one way: once sealed, no plain copy stays beside the token.
    CONSTRAINT channel_secrets_one_way CHECK (secrets_encrypted IS NULL OR secrets = '{}')
);
CREATE INDEX channel_node_idx ON channel (node_id);
CREATE INDEX channel_bot_idx ON channel (bot_key);

-- Runtime state of a channel, apart from its config so that the dispatcher's row lock (which
-- serialises rate-limit budgeting between replicas) never blocks an API update.
CREATE TABLE channel_state (
    channel_id      int PRIMARY KEY REFERENCES channel (channel_id) ON DELETE CASCADE,
    blocked_until   timestamptz,          -- vendor penalty (DingTalk 130101: 10 minutes)
    last_error      text,                 -- redacted
    last_error_at   timestamptz,
    last_success_at timestamptz,
    meta_firing     boolean NOT NULL DEFAULT false  -- a "delivery failed" meta-alert is open
);

-- Silences mute alerts that match every matcher, within [starts_at, ends_at), and only in the
-- subtree of the node that owns the silence.
CREATE TABLE silence (
    silence_id  int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node_id     text NOT NULL REFERENCES org_node (node_id),
    matchers    jsonb NOT NULL,
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    created_by  text NOT NULL,
    comment     text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at),
    CHECK (jsonb_array_length(matchers) > 0)
);
CREATE INDEX silence_active_idx ON silence (ends_at);

-- Recurring mute windows (Alertmanager time_intervals) evaluated in a time zone.
CREATE TABLE mute_interval (
    mute_interval_id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node_id          text NOT NULL REFERENCES org_node (node_id),
    name             text NOT NULL,
    time_zone        text NOT NULL DEFAULT 'Asia/Shanghai',
    intervals        jsonb NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (node_id, name)
);

CREATE TABLE channel_mute_interval (
    channel_id       int NOT NULL REFERENCES channel (channel_id) ON DELETE CASCADE,
    mute_interval_id int NOT NULL REFERENCES mute_interval (mute_interval_id) ON DELETE CASCADE,
    PRIMARY KEY (channel_id, mute_interval_id)
);

-- Alerts currently known to dispatch, latest state per fingerprint: inhibition reads the
-- firing sources here. seq is the alert_event id that set the row, so events handled out of
-- order by two replicas never move an alert back in time.
CREATE TABLE active_alert (
    fingerprint  text PRIMARY KEY,
    status       text NOT NULL CHECK (status IN ('firing', 'resolved')),
    labels       jsonb NOT NULL,
    node_id      text NOT NULL,
    seq          bigint NOT NULL,
    updated_at   timestamptz NOT NULL
);
-- Dispatch loads the firing alerts an inhibit rule's source matchers could match by `kind` or
-- `alertname`, so a rule on an alert name costs an index scan, not a read of every firing alert.
CREATE INDEX active_alert_firing_idx ON active_alert ((labels ->> 'kind')) WHERE status = 'firing';
CREATE INDEX active_alert_firing_alertname_idx ON active_alert ((labels ->> 'alertname'))
    WHERE status = 'firing';

-- One aggregation group per (channel, group labels). next_flush_at and next_reason answer
-- "when is the next notification, and why" (alertmanager#2166, #2647).
CREATE TABLE notify_group (
    group_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel_id       int NOT NULL REFERENCES channel (channel_id) ON DELETE CASCADE,
    group_key        text NOT NULL,
    group_labels     jsonb NOT NULL,
    created_at       timestamptz NOT NULL,
    next_flush_at    timestamptz NOT NULL,
    next_reason      text NOT NULL,
    last_flush_at    timestamptz,
    last_notified_at timestamptz,
    sent_firing      text[] NOT NULL DEFAULT '{}',
    sent_resolved    text[] NOT NULL DEFAULT '{}',
    UNIQUE (channel_id, group_key)
);
CREATE INDEX notify_group_due_idx ON notify_group (next_flush_at);

CREATE TABLE group_alert (
    group_id     bigint NOT NULL REFERENCES notify_group (group_id) ON DELETE CASCADE,
    fingerprint  text NOT NULL,
    status       text NOT NULL CHECK (status IN ('firing', 'resolved')),
    labels       jsonb NOT NULL,
    annotations  jsonb NOT NULL,
    value        double precision,
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz,
    node_path    text[] NOT NULL,
    rule_id      int,
    seq          bigint NOT NULL,
    PRIMARY KEY (group_id, fingerprint)
);
-- a resolve reaches every group that holds the alert, even after its channel's matchers or
-- group_by changed
CREATE INDEX group_alert_fingerprint_idx ON group_alert (fingerprint);

CREATE SEQUENCE meta_alert_seq;

-- One message to one channel: the alerts it carries are frozen in `content` at flush time, so
-- a retry sends what the group looked like then. States:
--   pending -> sending (leased until claimed_until) -> sent
--                                                   -> pending (retry at next_attempt_at)
--                                                   -> dead (retry budget spent; dead letter)
--   pending -> superseded (a newer notification of the same group carries its alerts)
--   pending -> folded (rate limit: merged into the digest notification folded_into)
CREATE TABLE notification (
    notification_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel_id      int NOT NULL REFERENCES channel (channel_id) ON DELETE CASCADE,
    group_id        bigint REFERENCES notify_group (group_id) ON DELETE SET NULL,
    group_key       text NOT NULL,
    kind            text NOT NULL DEFAULT 'group' CHECK (kind IN ('group', 'digest', 'fallback')),
    reason          text NOT NULL,
    content         jsonb NOT NULL,
    alert_count     int NOT NULL,
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'sent',
                        'dead', 'superseded', 'folded')),
    created_at      timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    claimed_until   timestamptz,
    claim_token     uuid,                     -- who holds the lease
    attempts        int NOT NULL DEFAULT 0,
    failures        int NOT NULL DEFAULT 0,   -- retryable failures; rate limits do not count
    parts_sent      int NOT NULL DEFAULT 0,   -- of a split message, resume after these
    sent_at         timestamptz,
    dead_at         timestamptz,
    last_error      text,
    replaced_by     bigint REFERENCES notification (notification_id) ON DELETE SET NULL,
    fallback_of     bigint REFERENCES notification (notification_id) ON DELETE SET NULL,
    -- Claims are tied to the dispatcher's database session: each dispatcher holds a
    -- session-level advisory lock (class 815620065, key claim_owner) on a dedicated connection
    -- for its life and stamps claim_owner on what it claims (alerter/delivery/sending/owner.py).
    -- The server drops a killed dispatcher's session at once and its lock with it, so its
    -- claims are taken over at once rather than when the 120 s lease runs out; the lease stays
    -- for a hung process. NULL: claimed by a dispatcher without an owner (lease only).
    claim_owner     integer
);
CREATE INDEX notification_due_idx ON notification (channel_id, next_attempt_at)
    WHERE state IN ('pending', 'sending');
-- a group's notifications go out in order: none is claimed while an older one is in flight
CREATE INDEX notification_group_idx ON notification (channel_id, group_key, notification_id)
    WHERE state IN ('pending', 'sending');
CREATE INDEX notification_dead_idx ON notification (dead_at) WHERE state = 'dead';

-- One row per try, test sends included (notification_id NULL). `parts` counts the HTTP
-- requests made, which is what vendors' per-minute limits count.
CREATE TABLE delivery_attempt (
    attempt_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    notification_id bigint REFERENCES notification (notification_id) ON DELETE CASCADE,
    channel_id      int NOT NULL REFERENCES channel (channel_id) ON DELETE CASCADE,
    bot_key         text NOT NULL,
    attempt         int NOT NULL,
    started_at      timestamptz NOT NULL,
    status          text NOT NULL CHECK (status IN ('success', 'rate_limited', 'retryable',
                        'permanent')),
    vendor_code     text,
    latency_ms      int NOT NULL,
    parts           int NOT NULL DEFAULT 1,
    error           text,                 -- redacted; NULL on success
    retry_at        timestamptz,
    test            boolean NOT NULL DEFAULT false
);
CREATE INDEX delivery_attempt_channel_idx ON delivery_attempt (channel_id, started_at DESC);
CREATE INDEX delivery_attempt_bot_idx ON delivery_attempt (bot_key, started_at DESC);
CREATE INDEX delivery_attempt_notification_idx ON delivery_attempt (notification_id);

-- Monotonic counters behind /metrics (attempts and a latency histogram per kind and status),
-- so the scrape-time collector needs no in-process state and survives attempt retention.
CREATE TABLE delivery_counter (
    kind          text NOT NULL,
    status        text NOT NULL,
    attempts      bigint NOT NULL DEFAULT 0,
    latency_sum_s double precision NOT NULL DEFAULT 0,
    buckets       bigint[] NOT NULL,      -- cumulative counts for alerter/delivery/metrics.py BUCKETS
    PRIMARY KEY (kind, status)
);

-- Inhibit rules (Alertmanager inhibit_rules): a firing alert matching source_matchers mutes
-- the firing alerts matching target_matchers that carry the same values of the `equal` labels.
-- A rule belongs to a node and applies only to source and target alerts of that node's
-- subtree (alerter/delivery/suppression/inhibition.py).
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

-- The built-in rule: a site that stopped reporting (kind no_data) mutes its own threshold and
-- forecast alerts. It belongs to the national centre 'CN', so only a national token may change it.
INSERT INTO inhibit_rule (node_id, name, source_matchers, target_matchers, equal, created_by)
VALUES (
    'CN',
    'no data at a node mutes its threshold and forecast alerts',
    '[{"name": "kind", "op": "=", "value": "no_data"}]',
    '[{"name": "kind", "op": "=~", "value": "threshold|forecast"}]',
    '{node}',
    'seed'
);

-- NOT VALID: the org tree is seeded after the migrations (quaywatch db seed), so 'CN' does not
-- exist yet; every row written from now on is checked.
ALTER TABLE inhibit_rule ADD CONSTRAINT inhibit_rule_node_id_fkey
    FOREIGN KEY (node_id) REFERENCES org_node (node_id) NOT VALID;
