-- Risk rules, the flags screening writes, and reviews. collector/risk/ is the only writer.

-- A declarative rule owned by an org node; it applies to declarations at sites in that node's
-- subtree. `conditions` is the validated rule (collector/risk/rules.py) and is authoritative;
-- the typed columns are copies of its fields that set-based evaluation reads, written by the
-- same statement. "One discovery, nationwide warning": an office proposes, a national admin
-- publishes (node_id becomes the root, origin_node_id keeps the office). Changes are written to
-- the alerter's audit_log (0021) with object_type 'risk_rule'.
CREATE TABLE risk_rule (
    rule_id           int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name              text NOT NULL,
    node_id           text NOT NULL REFERENCES org_node (node_id),
    description       text NOT NULL DEFAULT '',
    conditions        jsonb NOT NULL,
    summary           text NOT NULL,
    hs_prefixes       text[],
    origins           text[],
    traders           text[],
    features          text[],
    value_cny_min     float8,
    value_cny_max     float8,
    unit_value_min    float8,
    unit_value_max    float8,
    min_score         float8,
    enabled           boolean NOT NULL DEFAULT true,
    proposal_status   text NOT NULL DEFAULT 'none'
                      CHECK (proposal_status IN ('none', 'proposed', 'published')),
    origin_node_id    text NOT NULL REFERENCES org_node (node_id),
    proposed_at       timestamptz,
    proposed_by       text,
    proposal_comment  text,
    published_at      timestamptz,
    published_by      text,
    version           int NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL DEFAULT now(),
    created_by        text NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX risk_rule_node_idx ON risk_rule (node_id);

-- One row per reason a declaration was flagged: a feature (rule_id 0) or a matched rule
-- (feature 'rule'). Each says how far from normal (score), the observed and expected values,
-- what it was compared with (reference) and a sentence for the reviewer (reason).
CREATE TABLE risk_flag (
    flag_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    declaration_id  text        NOT NULL,
    declared_at     timestamptz NOT NULL,
    site_id         text        NOT NULL,
    feature         text        NOT NULL CHECK (feature IN ('unit_value', 'value_per_kg',
                        'net_over_gross', 'new_trader', 'pattern_change', 'amendments',
                        'new_origin', 'rule')),
    rule_id         int         NOT NULL DEFAULT 0,
    score           float8      NOT NULL,
    observed        float8,
    expected        float8,
    reference       text        NOT NULL,
    reason          text        NOT NULL,
    computed_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (declaration_id, declared_at, feature, rule_id)
);
CREATE INDEX risk_flag_time_idx ON risk_flag (declared_at DESC);
CREATE INDEX risk_flag_rule_idx ON risk_flag (rule_id, declared_at DESC) WHERE rule_id <> 0;

-- Every matched declaration with the rule that hit it.
CREATE VIEW risk_rule_hit AS
SELECT rule_id, declaration_id, declared_at, site_id, computed_at AS matched_at
FROM risk_flag
WHERE feature = 'rule';

-- The outcome of reviewing a flagged declaration (an inspection confirms or clears it). One
-- per declaration, whichever of its flags the reviewer opened: precision per feature and per
-- rule counts the declarations they flagged that were reviewed and confirmed.
CREATE TABLE risk_review (
    declaration_id     text        NOT NULL,
    declared_at        timestamptz NOT NULL,
    site_id            text        NOT NULL,
    outcome            text        NOT NULL CHECK (outcome IN ('confirmed', 'cleared')),
    note               text        NOT NULL DEFAULT '',
    reviewer           text        NOT NULL,
    reviewer_token_id  int,
    via_flag_id        bigint,
    reviewed_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (declaration_id, declared_at)
);
CREATE INDEX risk_review_time_idx ON risk_review (reviewed_at DESC);

-- Pull feeds of declarations (same protocol and cursor rules as station_feed, 0005).
CREATE TABLE declaration_feed (
    feed_id               text PRIMARY KEY,
    url                   text NOT NULL,
    auth_header           text,
    auth_secret           text,
    cursor_param          text NOT NULL DEFAULT 'since',
    interval_s            int  NOT NULL DEFAULT 60 CHECK (interval_s >= 1),
    enabled               boolean NOT NULL DEFAULT true,
    cursor                text,
    next_poll_at          timestamptz NOT NULL DEFAULT now(),
    last_polled_at        timestamptz,
    last_ok_at            timestamptz,
    last_error            text,
    consecutive_failures  int NOT NULL DEFAULT 0,
    declarations_total    bigint NOT NULL DEFAULT 0
);
