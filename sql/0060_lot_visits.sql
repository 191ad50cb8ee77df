-- A lot is one visit of a container or consignment at one site: (site_id, lot_id, visit_no).
-- The station's lot id names the container or consignment; the same container arriving at
-- Shanghai and weeks later at Shenzhen, or at Shanghai again, is two lots. Event identity is
-- scoped to the site too, so no site's events can collide with, or squat on, another's.
-- collector/lot_fold.py defines how events fold into visits; docs/api.md states the rules.

-- A stamp is the position of an event in its lot's history: its time, then its event id for
-- ties. Each stamped field is two columns, <name>_at and <name>_event; event ids compare byte
-- by byte (COLLATE "C"), so every database, whatever its locale, orders ties the same way.
ALTER TABLE lot DROP CONSTRAINT lot_pkey;
ALTER TABLE lot
    ADD COLUMN visit_no int NOT NULL DEFAULT 1,
    -- The opening event (an arrival or declaration after a removal) that began this visit;
    -- NULL for a lot's first visit, which reaches back to its first event.
    ADD COLUMN opened_at timestamptz,
    ADD COLUMN opened_event text COLLATE "C",
    -- The latest opening event and the earliest removal in this visit. Within a visit every
    -- opening precedes every removal; an event that would break that starts a refold.
    ADD COLUMN last_opening_at timestamptz,
    ADD COLUMN last_opening_event text COLLATE "C",
    ADD COLUMN first_removal_at timestamptz,
    ADD COLUMN first_removal_event text COLLATE "C",
    ADD COLUMN first_event_at timestamptz,
    ADD COLUMN last_event_at timestamptz,
    -- Per attribute, the event that stated it last: an event that omits a field leaves it be.
    ADD COLUMN direction_at timestamptz,
    ADD COLUMN direction_event text COLLATE "C",
    ADD COLUMN hazard_class_at timestamptz,
    ADD COLUMN hazard_class_event text COLLATE "C",
    ADD COLUMN un_number_at timestamptz,
    ADD COLUMN un_number_event text COLLATE "C",
    ADD COLUMN packing_group_at timestamptz,
    ADD COLUMN packing_group_event text COLLATE "C",
    ADD COLUMN teu_at timestamptz,
    ADD COLUMN teu_event text COLLATE "C";
-- Lot id first: GET /lots/<id> reads a lot by its id alone, whichever site holds it.
ALTER TABLE lot ADD PRIMARY KEY (lot_id, site_id, visit_no);

-- Lots folded before this migration: their attributes were stated together by one event.
UPDATE lot SET
    direction_at = CASE WHEN direction IS NOT NULL THEN attrs_at END,
    direction_event = CASE WHEN direction IS NOT NULL THEN attrs_event_id END,
    hazard_class_at = CASE WHEN hazard_class IS NOT NULL THEN attrs_at END,
    hazard_class_event = CASE WHEN hazard_class IS NOT NULL THEN attrs_event_id END,
    un_number_at = CASE WHEN un_number IS NOT NULL THEN attrs_at END,
    un_number_event = CASE WHEN un_number IS NOT NULL THEN attrs_event_id END,
    packing_group_at = CASE WHEN packing_group IS NOT NULL THEN attrs_at END,
    packing_group_event = CASE WHEN packing_group IS NOT NULL THEN attrs_event_id END,
    teu_at = CASE WHEN teu IS NOT NULL THEN attrs_at END,
    teu_event = CASE WHEN teu IS NOT NULL THEN attrs_event_id END;
-- Their first_event_at stays NULL ("not known"), so a refold of such a lot reads all of its
-- events; `quaywatch lots refold` rebuilds every lot from the stored events at once.
ALTER TABLE lot
    DROP COLUMN site_at,
    DROP COLUMN site_event_id,
    DROP COLUMN attrs_at,
    DROP COLUMN attrs_event_id;

-- Ingest looks up where later visits begin for every lot it folds; few lots have them.
CREATE INDEX lot_later_visit_idx ON lot (site_id, lot_id)
    INCLUDE (visit_no, opened_at, opened_event)
    WHERE visit_no > 1;

DROP INDEX cargo_event_identity;
CREATE UNIQUE INDEX cargo_event_identity ON cargo_event (site_id, event_id, occurred_at);

-- Breach predictions name the visit they were made for.
ALTER TABLE lot_breach_prediction
    ADD COLUMN site_id text,
    ADD COLUMN visit_no int;
DROP INDEX lot_breach_prediction_lot_idx;
CREATE INDEX lot_breach_prediction_lot_idx
    ON lot_breach_prediction (site_id, lot_id, visit_no, computed_at DESC);

CREATE OR REPLACE VIEW reporting.lot_breach_prediction AS
SELECT p.computed_at AS time,
       l.lot_id,
       l.site_id,
       n.path[2] AS customs_id,
       n.path[3] AS office_id,
       l.hazard_class,
       l.stage,
       l.deadline_at,
       p.breach_probability,
       p.predicted_breach_at,
       p.predicted_removal_at,
       p.congestion,
       l.visit_no
FROM lot l
JOIN org_node n ON n.node_id = l.site_id
JOIN LATERAL (
    SELECT * FROM lot_breach_prediction bp
    WHERE bp.site_id = l.site_id AND bp.lot_id = l.lot_id AND bp.visit_no = l.visit_no
    ORDER BY bp.computed_at DESC LIMIT 1) p ON true
WHERE l.hazard_class IS NOT NULL AND l.removed_at IS NULL;

-- A hazardous lot whose packing group was not stated still gets a deadline: the strictest
-- limit of its class (6.1 and 8 have limits per packing group only, and a lot with no deadline
-- could never be warned about). Otherwise the precedence is that of 0003: a site row beats
-- the national default, a division (5.1) beats its class (5), a row for the lot's packing
-- group beats one for any group.
CREATE OR REPLACE FUNCTION lot_set_deadline() RETURNS trigger LANGUAGE plpgsql AS $$
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
