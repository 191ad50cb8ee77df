-- User-defined indicators (collector/indicators/): each version of a spec, applied by
-- `quaywatch indicators apply`. The catalogue row (indicator, builtin = false) names the
-- indicator; the latest version here is the caliber the metrics cycle computes.
CREATE TABLE indicator_spec (
    code        text NOT NULL REFERENCES indicator (code) ON DELETE CASCADE,
    version     int  NOT NULL CHECK (version > 0),
    -- The node whose operators own the indicator (CN: national). Values are computed for
    -- every site and level whatever the scope: one caliber everywhere.
    node_scope  text NOT NULL REFERENCES org_node (node_id),
    spec        jsonb NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (code, version)
);

-- The spec version that computed a point; NULL for built-ins (their caliber is the code).
-- Nullable without a default, so adding it rewrites nothing and built-in points stay as small.
ALTER TABLE metric_point ADD COLUMN spec_version int;
