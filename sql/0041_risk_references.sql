-- What risk screening compares a declaration with, maintained incrementally by each ingest batch
-- (collector/risk/references.py and context.py; docs/risk-screening.md explains the method).

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
