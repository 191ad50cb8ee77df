-- The ground every package stands on: TimescaleDB, the org tree, API tokens and the audit log.
-- Written by quaywatch/ (api_token through quaywatch/security/, audit_log through
-- quaywatch/audit.py) and by the seed loader (org_node, `quaywatch db seed`).
--
-- Migrations 0100-0106 are the schema as one baseline, by owning package in the order data
-- flows (event -> lot -> metrics -> forecasts -> alerts -> notifications -> dashboards). A
-- database that applied the development migrations they replace (sql/baseline.toml) has
-- them recorded without running them; new migrations go after 0106.
CREATE EXTENSION IF NOT EXISTS timescaledb;

-- The three-level monitoring network: national centre -> 42 directly-affiliated customs ->
-- subordinate offices -> sites (terminals, airports, crossings). Every metric, rule, alert,
-- channel and API token belongs to a node and sees that node's subtree.
CREATE TABLE org_node (
    node_id          text PRIMARY KEY,
    parent_id        text REFERENCES org_node (node_id),
    level            text NOT NULL CHECK (level IN ('national', 'customs', 'office', 'site')),
    code             text,
    name_en          text NOT NULL,
    name_zh          text,
    site_type        text CHECK (site_type IN ('SEA', 'RIV', 'AIR', 'LAND', 'RAIL', 'BZ')),
    locode           text,
    longitude        double precision,
    latitude         double precision,
    timezone         text NOT NULL DEFAULT 'Asia/Shanghai',
    weight           double precision NOT NULL DEFAULT 0,
    -- root-to-self path, maintained by the seed loader; `$1 = ANY (path)` selects a subtree
    path             text[] NOT NULL,
    CHECK ((level = 'national') = (parent_id IS NULL)),
    CHECK ((level = 'site') = (site_type IS NOT NULL))
);
CREATE INDEX org_node_parent_idx ON org_node (parent_id);
CREATE INDEX org_node_path_idx ON org_node USING gin (path);

-- One row per site with its ancestors at each level: the grouping keys for rollups.
CREATE VIEW site_ancestry AS
SELECT s.node_id AS site_id,
       s.path[3] AS office_id,
       s.path[2] AS customs_id,
       s.path[1] AS national_id,
       s.timezone
FROM org_node s
WHERE s.level = 'site';

-- Scoped API tokens: only a SHA-256 of the token is stored; the token itself is shown once.
-- A token past expires_at is refused like a revoked one (quaywatch/security/auth.py); NULL
-- (the bootstrap admin) never expires.
CREATE TABLE api_token (
    token_id     int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL,
    token_hash   text NOT NULL UNIQUE,
    role         text NOT NULL CHECK (role IN ('viewer', 'station', 'operator', 'admin')),
    node_id      text NOT NULL REFERENCES org_node (node_id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz,
    expires_at   timestamptz
);

-- Who changed what, when: every create/update/delete/propose/publish of a rule, override,
-- indicator or risk rule, and acknowledgements. node_id is the owning node, so a token sees its
-- subtree's entries.
CREATE TABLE audit_log (
    audit_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    actor           text NOT NULL,
    actor_token_id  int,
    actor_node_id   text,
    action          text NOT NULL,
    object_type     text NOT NULL,
    object_id       text NOT NULL,
    node_id         text,
    before          jsonb,
    after           jsonb
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);
CREATE INDEX audit_log_object_idx ON audit_log (object_type, object_id, at DESC);
