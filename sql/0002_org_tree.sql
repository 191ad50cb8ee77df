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
