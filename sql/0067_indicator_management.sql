-- Indicator management through the API (collector/indicators/api.py): an indicator's lifecycle
-- (retired indicators stop computing and keep their versions and points) and its proposal for
-- national scope. The owner is the latest indicator_spec.node_scope; from this migration on,
-- an indicator owned below CN is computed only for its owner's subtree (collector.metrics),
-- not everywhere as 0061's comment says. Every change is an audit_log row (object_type
-- 'indicator', node_id the owner).
ALTER TABLE indicator
    ADD COLUMN state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'retired')),
    ADD COLUMN proposal_status text NOT NULL DEFAULT 'none'
        CHECK (proposal_status IN ('none', 'proposed', 'published')),
    ADD COLUMN proposed_at timestamptz,
    ADD COLUMN proposed_by text,
    ADD COLUMN proposal_comment text,
    ADD COLUMN published_at timestamptz,
    ADD COLUMN published_by text,
    ADD COLUMN retired_at timestamptz,
    ADD COLUMN retired_by text;
