-- Customs declarations (报关单) as received by push, pull, file import or the simulator, with
-- the context and risk mark that screening (collector/risk/) gives each one.
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
