-- Raw cargo events as received (push, pull, file, simulator) and the lot state they fold into.
CREATE TABLE cargo_event (
    event_id       text        NOT NULL,
    occurred_at    timestamptz NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now(),
    site_id        text        NOT NULL,
    lot_id         text        NOT NULL,
    kind           text        NOT NULL,
    direction      text,
    hazard_class   text,
    un_number      text,
    packing_group  text,
    teu            real,
    source         text        NOT NULL DEFAULT 'push'
);
-- 7-day chunks: about 1M events a week at national simulator scale, so one chunk's indexes
-- stay far below a quarter of shared_buffers (reference/timescaledb-and-grafana.md 2.2).
SELECT create_hypertable('cargo_event', by_range('occurred_at', INTERVAL '7 days'));
-- A unique index on a hypertable must include the partitioning column: a station that re-sends
-- an event re-sends it with the same id and time, which this index makes a no-op.
CREATE UNIQUE INDEX cargo_event_identity ON cargo_event (event_id, occurred_at);
CREATE INDEX cargo_event_site_time ON cargo_event (site_id, occurred_at DESC);

-- Storage limits for hazardous lots: national defaults (site_id NULL) and stricter per-site rows.
CREATE TABLE storage_limit (
    limit_id            int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id             text REFERENCES org_node (node_id),
    hazard_class        text NOT NULL,
    packing_group       text CHECK (packing_group IN ('I', 'II', 'III')),
    tier                text NOT NULL,
    limit_hours         double precision NOT NULL CHECK (limit_hours > 0),
    warn_fraction       double precision NOT NULL CHECK (warn_fraction > 0 AND warn_fraction < 1),
    summer_limit_hours  double precision CHECK (summer_limit_hours > 0),
    note                text
);
CREATE UNIQUE INDEX storage_limit_key
    ON storage_limit (coalesce(site_id, ''), hazard_class, coalesce(packing_group, ''));

-- One row per lot. Every column is a commutative merge of the events seen (min/max of stage
-- times, last-writer-wins for attributes), so the state does not depend on delivery order.
CREATE TABLE lot (
    lot_id                  text PRIMARY KEY,
    site_id                 text NOT NULL,
    direction               text,
    hazard_class            text,
    un_number               text,
    packing_group           text,
    -- last-writer-wins keys: (time, event id) of the event that set site_id / the attributes
    site_at                 timestamptz,
    site_event_id           text,
    attrs_at                timestamptz,
    attrs_event_id          text,
    arrived_at              timestamptz,
    declared_at             timestamptz,
    inspection_started_at   timestamptz,
    inspection_finished_at  timestamptz,
    released_at             timestamptz,
    removed_at              timestamptz,
    held_at                 timestamptz,
    hold_lifted_at          timestamptz,
    teu                     real,
    limit_hours             double precision,
    deadline_at             timestamptz,
    warn_at                 timestamptz,
    event_count             int NOT NULL DEFAULT 0,
    updated_at              timestamptz NOT NULL DEFAULT now(),
    stage text GENERATED ALWAYS AS (
        CASE
            WHEN removed_at IS NOT NULL THEN 'removed'
            WHEN released_at IS NOT NULL THEN 'released'
            WHEN inspection_finished_at IS NOT NULL THEN 'inspection_finished'
            WHEN inspection_started_at IS NOT NULL THEN 'inspection_started'
            WHEN declared_at IS NOT NULL THEN 'declared'
            WHEN arrived_at IS NOT NULL THEN 'arrived'
            ELSE 'unknown'
        END) STORED,
    on_hold boolean GENERATED ALWAYS AS (
        held_at IS NOT NULL AND (hold_lifted_at IS NULL OR hold_lifted_at < held_at)) STORED
);
-- Lots still at the site drive most live indicators; removed lots are only read by time window.
CREATE INDEX lot_present_idx ON lot (site_id) INCLUDE (arrived_at, hazard_class)
    WHERE removed_at IS NULL;
CREATE INDEX lot_hazard_deadline_idx ON lot (deadline_at) WHERE hazard_class IS NOT NULL;
-- Lots are written roughly in time order (new row versions go to the end of the heap), so BRIN
-- indexes serve the time-window reads at a fraction of a B-tree's cost on every lot write.
CREATE INDEX lot_arrived_brin ON lot USING brin (arrived_at) WITH (pages_per_range = 16);
CREATE INDEX lot_released_brin ON lot USING brin (released_at) WITH (pages_per_range = 16);
CREATE INDEX lot_removed_brin ON lot USING brin (removed_at) WITH (pages_per_range = 16);
CREATE INDEX lot_declared_brin ON lot USING brin (declared_at) WITH (pages_per_range = 16);
CREATE INDEX lot_inspection_finished_brin ON lot USING brin (inspection_finished_at)
    WITH (pages_per_range = 16);

-- Keep each hazardous lot's deadline in step with its merged state, whatever order events came in.
-- The storage limit that applies: a site row beats the national default, a division (5.1) beats
-- its class (5), a packing-group row beats one for any group. Summer limits apply by the month
-- of arrival in the site's own time zone.
CREATE FUNCTION lot_set_deadline() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    found_limit double precision;
    found_warn double precision;
BEGIN
    IF NEW.hazard_class IS NULL OR NEW.arrived_at IS NULL THEN
        NEW.limit_hours := NULL; NEW.deadline_at := NULL; NEW.warn_at := NULL;
        RETURN NEW;
    END IF;
    -- The look-up is written out here (not in a SQL function) so PL/pgSQL caches its
    -- plan: a function call per hazardous lot cost ~140 us, this ~20 us.
    SELECT CASE WHEN sl.summer_limit_hours IS NOT NULL
                 AND extract(month FROM NEW.arrived_at AT TIME ZONE coalesce(n.timezone, 'Asia/Shanghai'))
                     BETWEEN 6 AND 10
                THEN sl.summer_limit_hours ELSE sl.limit_hours END,
           sl.warn_fraction
      INTO found_limit, found_warn
    FROM storage_limit sl
    LEFT JOIN org_node n ON n.node_id = NEW.site_id
    WHERE (sl.site_id = NEW.site_id OR sl.site_id IS NULL)
      AND sl.hazard_class IN (NEW.hazard_class, split_part(NEW.hazard_class, '.', 1))
      AND (sl.packing_group = NEW.packing_group OR sl.packing_group IS NULL)
    ORDER BY sl.site_id IS NOT NULL DESC, sl.hazard_class = NEW.hazard_class DESC,
             sl.packing_group IS NOT NULL DESC
    LIMIT 1;
    NEW.limit_hours := found_limit;
    NEW.deadline_at := NEW.arrived_at + make_interval(secs => found_limit * 3600);
    NEW.warn_at := NEW.arrived_at + make_interval(secs => found_limit * found_warn * 3600);
    RETURN NEW;
END
$$;
-- The WHEN clause is checked without entering PL/pgSQL: general cargo (97% of lots) pays nothing.
CREATE TRIGGER lot_deadline BEFORE INSERT OR UPDATE ON lot
    FOR EACH ROW WHEN (NEW.hazard_class IS NOT NULL OR NEW.deadline_at IS NOT NULL)
    EXECUTE FUNCTION lot_set_deadline();
