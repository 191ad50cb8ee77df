-- Customs declarations (报关单) and risk screening: the declarations as received by push, pull,
-- file import or the simulator, with the context and risk mark that screening gives each one;
-- what screening compares a declaration with, maintained incrementally by each ingest batch; the
-- risk rules, the flags screening writes and the reviews. Written by collector/risk/
-- (docs/risk-screening.md explains the method).

CREATE TABLE declaration (
    declaration_id        text        NOT NULL,
    declared_at           timestamptz NOT NULL,
    received_at           timestamptz NOT NULL DEFAULT now(),
    site_id               text        NOT NULL,
    trader_id             text        NOT NULL,
    -- 8 or 10 digits; the first 6 are the international Harmonized System code
    hs_code               text        NOT NULL,
    -- ISO 3166-1 alpha-2
    origin                text        NOT NULL,
    direction             text        NOT NULL DEFAULT 'import',
    declared_value        float8      NOT NULL,
    currency              text        NOT NULL,
    value_cny             float8      NOT NULL,
    quantity              float8      NOT NULL,
    unit                  text        NOT NULL,
    gross_kg              float8      NOT NULL,
    net_kg                float8,
    transport_mode        text,
    -- 0 for the original entry; each amendment (改单) re-sends the declaration with a higher number
    amendment_no          int         NOT NULL DEFAULT 0,
    amended_at            timestamptz,
    source                text        NOT NULL DEFAULT 'push',
    -- Context as of arrival: how many declarations were seen before this one for its trader,
    -- the trader x HS chapter, the trader x origin, the site x HS-6 and the site x HS-6 x origin.
    -- Kept on the row so a re-screen judges novelty as it was, not as it is now.
    trader_prior          int         NOT NULL DEFAULT 0,
    trader_chapter_prior  int         NOT NULL DEFAULT 0,
    trader_origin_prior   int         NOT NULL DEFAULT 0,
    site_hs_prior         int         NOT NULL DEFAULT 0,
    site_hs_origin_prior  int         NOT NULL DEFAULT 0,
    -- The risk mark: NULL score = not flagged; otherwise the highest feature score (0 when only
    -- risk rules matched), the features that flagged it and the rules that hit.
    risk_score            float8,
    risk_features         text[],
    risk_rules            int[]
);
-- 7-day chunks: ~2M declarations a week at the national order of magnitude (customs-domain §4.2).
SELECT create_hypertable('declaration', by_range('declared_at', INTERVAL '7 days'));
-- A unique index on a hypertable must include its time column: a re-sent declaration carries
-- the same id and time and is recognised by this index.
CREATE UNIQUE INDEX declaration_identity ON declaration (declaration_id, declared_at);
CREATE INDEX declaration_site_time ON declaration (site_id, declared_at DESC);
-- The review queue and re-screens read flagged declarations only (a few percent of rows).
CREATE INDEX declaration_flagged ON declaration (declared_at DESC) WHERE risk_score IS NOT NULL;

-- Each amendment with the values it replaced (the row itself always holds the latest values).
CREATE TABLE declaration_amendment (
    declaration_id  text        NOT NULL,
    declared_at     timestamptz NOT NULL,
    amendment_no    int         NOT NULL,
    amended_at      timestamptz NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    before          jsonb       NOT NULL,
    PRIMARY KEY (declaration_id, declared_at, amendment_no)
);

-- CNY per unit of foreign currency, for declarations that do not state value_cny themselves.
-- Rates are approximate defaults [guess, late-2026 order of magnitude]; operators keep them
-- current with UPDATE (customs uses the monthly rate published by GACC).
CREATE TABLE fx_rate (
    currency      text PRIMARY KEY CHECK (currency ~ '^[A-Z]{3}$'),
    cny_per_unit  float8 NOT NULL CHECK (cny_per_unit > 0),
    as_of         date NOT NULL,
    note          text
);
INSERT INTO fx_rate (currency, cny_per_unit, as_of, note) VALUES
    ('CNY', 1.0, '2026-11-01', 'identity'),
    ('USD', 7.10, '2026-11-01', 'default [guess]'),
    ('EUR', 7.75, '2026-11-01', 'default [guess]'),
    ('JPY', 0.047, '2026-11-01', 'default [guess]'),
    ('HKD', 0.91, '2026-11-01', 'default [guess]'),
    ('GBP', 9.00, '2026-11-01', 'default [guess]'),
    ('KRW', 0.0051, '2026-11-01', 'default [guess]'),
    ('AUD', 4.65, '2026-11-01', 'default [guess]'),
    ('SGD', 5.40, '2026-11-01', 'default [guess]'),
    ('RUB', 0.085, '2026-11-01', 'default [guess]'),
    ('CAD', 5.10, '2026-11-01', 'default [guess]'),
    ('CHF', 8.10, '2026-11-01', 'default [guess]'),
    ('NZD', 4.20, '2026-11-01', 'default [guess]'),
    ('BRL', 1.30, '2026-11-01', 'default [guess]'),
    ('THB', 0.20, '2026-11-01', 'default [guess]'),
    ('MYR', 1.55, '2026-11-01', 'default [guess]'),
    ('VND', 0.00028, '2026-11-01', 'default [guess]'),
    ('INR', 0.084, '2026-11-01', 'default [guess]');

-- What screening compares a declaration with (collector/risk/references.py and context.py).
--
-- Robust value references: one log-spaced histogram per key, stored as an int array. Bucket b
-- holds values with floor(ln(value) / ln(1.05)) = b, so a bucket is 5% wide and a median read
-- from it is within 2.5%, whatever the price level; counts[i] is bucket lo + i - 1. A batch adds
-- its values per key with one sorted upsert (concurrent batches commute; an amendment
-- subtracts the value it replaces), and the same statement recomputes the key's median and the
-- MAD of ln(value) from the merged histogram. hs is 8 digits (the reference) or 6 (the
-- fallback for thin 8-digit lines); unit is the quantity unit, or KG for value per kg.
CREATE TABLE risk_reference (
    feature     text   NOT NULL CHECK (feature IN ('unit_value', 'value_per_kg')),
    hs          text   NOT NULL,
    origin      text   NOT NULL,
    unit        text   NOT NULL,
    lo          int    NOT NULL,
    counts      int[]  NOT NULL,
    n           bigint NOT NULL,
    median      float8,
    mad_log     float8,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (feature, hs, origin, unit)
);

-- Add deltas at bucket numbers to a histogram (lo, counts), widening it as needed. A NULL
-- histogram starts empty.
CREATE FUNCTION risk_hist_add(lo int, counts int[], buckets int[], deltas int[],
                              OUT new_lo int, OUT new_counts int[])
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    b_min int := buckets[1];
    b_max int := buckets[1];
    hi int;
    i int;
    j int;
BEGIN
    FOR i IN 2 .. cardinality(buckets) LOOP
        b_min := least(b_min, buckets[i]);
        b_max := greatest(b_max, buckets[i]);
    END LOOP;
    IF coalesce(cardinality(counts), 0) = 0 THEN
        new_lo := b_min;
        hi := b_max;
    ELSE
        new_lo := least(lo, b_min);
        hi := greatest(lo + cardinality(counts) - 1, b_max);
    END IF;
    new_counts := array_fill(0, ARRAY[hi - new_lo + 1]);
    FOR i IN 1 .. coalesce(cardinality(counts), 0) LOOP
        new_counts[lo - new_lo + i] := counts[i];
    END LOOP;
    FOR i IN 1 .. cardinality(buckets) LOOP
        j := buckets[i] - new_lo + 1;
        new_counts[j] := new_counts[j] + deltas[i];
    END LOOP;
END
$$;

-- Count, median of ln(value) (interpolated within its bucket) and MAD of ln(value) (the
-- weighted median of bucket-centre distances to it, found by walking outwards from the median
-- bucket: distances grow monotonically on each side). Negative counts (an amendment of a value
-- counted before a rebuild) count as zero.
CREATE FUNCTION risk_hist_stats(lo int, counts int[],
                                OUT n bigint, OUT median_log float8, OUT mad_log float8)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    w constant float8 := ln(1.05);
    total float8 := 0;
    half float8;
    cum float8 := 0;
    c float8;
    m int;
    l int;
    r int;
    dl float8;
    dr float8;
    i int;
BEGIN
    FOR i IN 1 .. cardinality(counts) LOOP
        total := total + greatest(counts[i], 0);
    END LOOP;
    n := total;
    IF total = 0 THEN
        RETURN;
    END IF;
    half := total / 2;
    FOR i IN 1 .. cardinality(counts) LOOP
        c := greatest(counts[i], 0);
        IF c > 0 AND cum + c >= half THEN
            median_log := (lo + i - 1 + (half - cum) / c) * w;
            m := i;
            EXIT;
        END IF;
        cum := cum + c;
    END LOOP;
    cum := 0;
    l := m;
    r := m + 1;
    LOOP
        dl := CASE WHEN l >= 1 THEN abs((lo + l - 0.5) * w - median_log) ELSE 'Infinity' END;
        dr := CASE WHEN r <= cardinality(counts) THEN abs((lo + r - 0.5) * w - median_log)
                   ELSE 'Infinity' END;
        IF dl <= dr THEN
            cum := cum + greatest(counts[l], 0);
            mad_log := dl;
            l := l - 1;
        ELSE
            cum := cum + greatest(counts[r], 0);
            mad_log := dr;
            r := r + 1;
        END IF;
        EXIT WHEN cum >= half;
    END LOOP;
END
$$;

-- Counters of declarations seen, by trader, trader x (HS chapter | origin), site x HS-6 and
-- site x HS-6 x origin. Each has the same shape (n, first and last seen, first declaration) so
-- one generated statement per table updates it and hands each new declaration its prior count.
CREATE TABLE trader_profile (
    trader_id             text PRIMARY KEY,
    n                     bigint NOT NULL,
    -- declarations of this trader amended at least once (改单)
    amended               bigint NOT NULL DEFAULT 0,
    first_seen_at         timestamptz NOT NULL,
    first_declaration_id  text NOT NULL,
    last_seen_at          timestamptz NOT NULL
);

-- A trader's usual pattern: how many of its declarations fell in each HS chapter and origin.
CREATE TABLE trader_pattern (
    trader_id             text NOT NULL,
    dim                   text NOT NULL CHECK (dim IN ('chapter', 'origin')),
    value                 text NOT NULL,
    n                     bigint NOT NULL,
    first_seen_at         timestamptz NOT NULL,
    first_declaration_id  text NOT NULL,
    last_seen_at          timestamptz NOT NULL,
    PRIMARY KEY (trader_id, dim, value)
);

CREATE TABLE site_hs (
    site_id               text NOT NULL,
    hs6                   text NOT NULL,
    n                     bigint NOT NULL,
    first_seen_at         timestamptz NOT NULL,
    first_declaration_id  text NOT NULL,
    last_seen_at          timestamptz NOT NULL,
    PRIMARY KEY (site_id, hs6)
);

-- The origin set of each HS-6 code at each site.
CREATE TABLE site_hs_origin (
    site_id               text NOT NULL,
    hs6                   text NOT NULL,
    origin                text NOT NULL,
    n                     bigint NOT NULL,
    first_seen_at         timestamptz NOT NULL,
    first_declaration_id  text NOT NULL,
    last_seen_at          timestamptz NOT NULL,
    PRIMARY KEY (site_id, hs6, origin)
);

-- Numbers in reason texts: thousands separators from 1,000 up, else 3 significant digits.
-- A one-line SQL function, so the planner inlines it.
CREATE FUNCTION risk_fmt(x float8) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN x IS NULL OR x = 'NaN'::float8 THEN 'n/a'
        WHEN x = 0 THEN '0'
        WHEN abs(x) >= 1000 THEN to_char(round(x::numeric), 'FM999,999,999,999,990')
        ELSE round(x::numeric, greatest(0, 2 - floor(log(abs(x)::numeric))::int))::text
    END
$$;

-- A declarative rule owned by an org node; it applies to declarations at sites in that node's
-- subtree. `conditions` is the validated rule (collector/risk/rules.py) and is authoritative;
-- the typed columns are copies of its fields that set-based evaluation reads, written by the
-- same statement. "One discovery, nationwide warning": an office proposes, a national admin
-- publishes (node_id becomes the root, origin_node_id keeps the office). Changes are written to
-- audit_log (0100) with object_type 'risk_rule'.
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

-- Pull feeds of declarations (same protocol and cursor rules as station_feed, 0101).
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
