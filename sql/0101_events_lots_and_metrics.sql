-- The collector's tables: raw cargo events, the lot visits they fold into, storage limits, the
-- indicator catalogue and its metric series, and the station feeds it pulls. Written by
-- collector/ (events: store.py, lots: lot_store.py, metrics: metrics.py and rollup.py, feeds:
-- intake/, user-defined indicators: indicators/).

-- Raw cargo events as received (push, pull, file, simulator).
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
-- an event re-sends it with the same id and time, which this index makes a no-op. Event
-- identity is scoped to the site, so no site's events can collide with, or squat on, another's.
CREATE UNIQUE INDEX cargo_event_identity ON cargo_event (site_id, event_id, occurred_at);
CREATE INDEX cargo_event_site_time ON cargo_event (site_id, occurred_at DESC);
-- The port dashboard's hold annotations read one site's holds over the time range. Without this
-- index PostgreSQL reads every event of the site in the range and filters by kind: 324 ms over
-- 30 days at Yangshan in bench/bench_panel_latency.py.
CREATE INDEX cargo_event_site_holds_idx ON cargo_event (site_id, occurred_at)
    WHERE kind IN ('held', 'hold_lifted');

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

-- A lot is one visit of a container or consignment at one site: (lot_id, site_id, visit_no).
-- The station's lot id names the container or consignment; the same container arriving at
-- Shanghai and weeks later at Shenzhen, or at Shanghai again, is two lots. Every column is a
-- commutative merge of the visit's events (min/max of stage times, the latest statement of
-- each attribute), so the state does not depend on delivery order. collector/lot_fold.py
-- defines how events fold into visits; docs/api.md states the rules.
--
-- A stamp is the position of an event in its lot's history: its time, then its event id for
-- ties. Each stamped field is two columns, <name>_at and <name>_event; event ids compare byte
-- by byte (COLLATE "C"), so every database, whatever its locale, orders ties the same way.
CREATE TABLE lot (
    lot_id                  text NOT NULL,
    site_id                 text NOT NULL,
    direction               text,
    hazard_class            text,
    un_number               text,
    packing_group           text,
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
        held_at IS NOT NULL AND (hold_lifted_at IS NULL OR hold_lifted_at < held_at)) STORED,
    visit_no                int NOT NULL DEFAULT 1,
    -- The opening event (an arrival or declaration after a removal) that began this visit;
    -- NULL for a lot's first visit, which reaches back to its first event.
    opened_at               timestamptz,
    opened_event            text COLLATE "C",
    -- The latest opening event and the earliest removal in this visit. Within a visit every
    -- opening precedes every removal; an event that would break that starts a refold.
    last_opening_at         timestamptz,
    last_opening_event      text COLLATE "C",
    first_removal_at        timestamptz,
    first_removal_event     text COLLATE "C",
    -- NULL means "not known" (lots folded before visits were recorded): a refold of such a lot
    -- reads all of its events.
    first_event_at          timestamptz,
    last_event_at           timestamptz,
    -- Per attribute, the event that stated it last: an event that omits a field leaves it be.
    direction_at            timestamptz,
    direction_event         text COLLATE "C",
    hazard_class_at         timestamptz,
    hazard_class_event      text COLLATE "C",
    un_number_at            timestamptz,
    un_number_event         text COLLATE "C",
    packing_group_at        timestamptz,
    packing_group_event     text COLLATE "C",
    teu_at                  timestamptz,
    teu_event               text COLLATE "C",
    -- Lot id first: GET /lots/<id> reads a lot by its id alone, whichever site holds it.
    PRIMARY KEY (lot_id, site_id, visit_no)
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
-- Ingest looks up where later visits begin for every lot it folds; few lots have them.
CREATE INDEX lot_later_visit_idx ON lot (site_id, lot_id)
    INCLUDE (visit_no, opened_at, opened_event)
    WHERE visit_no > 1;

-- Keep each hazardous lot's deadline in step with its merged state, whatever order events came
-- in. The storage limit that applies: a site row beats the national default, a division (5.1)
-- beats its class (5), a row for the lot's packing group beats one for any group. A lot whose
-- packing group was not stated still gets a deadline: the strictest limit of its class (6.1 and
-- 8 have limits per packing group only, and a lot with no deadline could never be warned
-- about). Summer limits apply by the month of arrival in the site's own time zone.
-- The look-up is written out here (not in a SQL function) so PL/pgSQL caches its plan: a
-- function call per hazardous lot cost ~140 us, this ~20 us.
CREATE FUNCTION lot_set_deadline() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    found_limit double precision;
    found_warn double precision;
BEGIN
    IF NEW.hazard_class IS NULL OR NEW.arrived_at IS NULL THEN
        NEW.limit_hours := NULL; NEW.deadline_at := NULL; NEW.warn_at := NULL;
        RETURN NEW;
    END IF;
    SELECT CASE WHEN sl.summer_limit_hours IS NOT NULL
                 AND extract(month FROM NEW.arrived_at AT TIME ZONE coalesce(n.timezone, 'Asia/Shanghai'))
                     BETWEEN 6 AND 10
                THEN sl.summer_limit_hours ELSE sl.limit_hours END AS hours,
           sl.warn_fraction
      INTO found_limit, found_warn
    FROM storage_limit sl
    LEFT JOIN org_node n ON n.node_id = NEW.site_id
    WHERE (sl.site_id = NEW.site_id OR sl.site_id IS NULL)
      AND sl.hazard_class IN (NEW.hazard_class, split_part(NEW.hazard_class, '.', 1))
      AND (sl.packing_group = NEW.packing_group OR sl.packing_group IS NULL
           OR NEW.packing_group IS NULL)
    ORDER BY sl.site_id IS NOT NULL DESC, sl.hazard_class = NEW.hazard_class DESC,
             sl.packing_group IS NOT DISTINCT FROM NEW.packing_group DESC,
             hours ASC
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

-- The indicator catalogue (one definition per indicator), the series (node x indicator) and the
-- narrow metric hypertable (time, series_id, value) every level writes into. A user-defined
-- indicator (builtin false) is managed through the API (collector/indicators/api.py): its
-- lifecycle (a retired indicator stops computing and keeps its versions and points) and its
-- proposal for national scope. Every change is an audit_log row (object_type 'indicator').
CREATE TABLE indicator (
    code          text PRIMARY KEY,
    name_en       text NOT NULL,
    name_zh       text NOT NULL,
    unit          text NOT NULL,
    theme         text NOT NULL CHECK (theme IN ('business_anomaly', 'process_timeliness',
                      'hazardous_goods', 'declaration_risk', 'throughput_capacity', 'data_quality')),
    direction     text NOT NULL CHECK (direction IN ('higher_is_worse', 'higher_is_better', 'neutral')),
    definition    text NOT NULL,
    forecastable  boolean NOT NULL DEFAULT false,
    builtin       boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    state         text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'retired')),
    proposal_status text NOT NULL DEFAULT 'none'
                  CHECK (proposal_status IN ('none', 'proposed', 'published')),
    proposed_at   timestamptz,
    proposed_by   text,
    proposal_comment text,
    published_at  timestamptz,
    published_by  text,
    retired_at    timestamptz,
    retired_by    text
);

-- Each version of a user-defined indicator's spec, applied by `quaywatch indicators apply` or
-- the API. The latest version is the caliber the metrics cycle computes; its node_scope owns
-- the indicator (CN: national), and an indicator owned below CN is computed only for its
-- owner's subtree (collector/metrics.py).
CREATE TABLE indicator_spec (
    code        text NOT NULL REFERENCES indicator (code) ON DELETE CASCADE,
    version     int  NOT NULL CHECK (version > 0),
    node_scope  text NOT NULL REFERENCES org_node (node_id),
    spec        jsonb NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (code, version)
);

CREATE TABLE series (
    series_id       int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node_id         text NOT NULL REFERENCES org_node (node_id),
    indicator_code  text NOT NULL REFERENCES indicator (code),
    UNIQUE (node_id, indicator_code)
);

-- spec_version is the indicator_spec version that computed a point; NULL for built-ins (their
-- caliber is the code). Nullable without a default, so built-in points stay as small.
CREATE TABLE metric_point (
    time          timestamptz      NOT NULL,
    series_id     int              NOT NULL,
    value         double precision NOT NULL,
    spec_version  int
);
-- No default (time DESC) index: every read names its series, and the rollup reads whole recent
-- chunks; one index fewer makes the ~13,000 points of each minute cheaper to write.
SELECT create_hypertable('metric_point', by_range('time', INTERVAL '1 day'),
                         create_default_indexes => false);
CREATE UNIQUE INDEX metric_point_series_time ON metric_point (series_id, time DESC);

-- The latest value per series, upserted each cycle: "current status" reads without a scan
-- (there is no SkipScan on the Apache build).
CREATE TABLE series_latest (
    series_id  int PRIMARY KEY REFERENCES series (series_id) ON DELETE CASCADE,
    time       timestamptz      NOT NULL,
    value      double precision NOT NULL
);

-- Hourly rollup, re-aggregated by the scheduler from metric_point (the Apache build has no
-- continuous aggregates). sum and n let coarser rollups re-aggregate exactly.
CREATE TABLE metric_hourly (
    bucket     timestamptz      NOT NULL,
    series_id  int              NOT NULL,
    avg        double precision NOT NULL,
    min        double precision NOT NULL,
    max        double precision NOT NULL,
    last       double precision NOT NULL,
    sum        double precision NOT NULL,
    n          int              NOT NULL,
    PRIMARY KEY (series_id, bucket)
);
SELECT create_hypertable('metric_hourly', by_range('bucket', INTERVAL '30 days'),
                         create_default_indexes => false);

-- Progress markers for scheduled jobs (rollup watermark, last metrics cycle).
CREATE TABLE job_state (
    name        text PRIMARY KEY,
    watermark   timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    detail      jsonb NOT NULL DEFAULT '{}'
);

-- Station feeds the collector pulls, with the cursor to resume from and the feed's health.
CREATE TABLE station_feed (
    feed_id               text PRIMARY KEY,
    site_id               text REFERENCES org_node (node_id),
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
    events_total          bigint NOT NULL DEFAULT 0
);
