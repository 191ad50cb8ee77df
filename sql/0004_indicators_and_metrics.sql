-- The indicator catalogue (one definition per indicator), the series (node x indicator) and the
-- narrow metric hypertable (time, series_id, value) every level writes into.
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
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE series (
    series_id       int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node_id         text NOT NULL REFERENCES org_node (node_id),
    indicator_code  text NOT NULL REFERENCES indicator (code),
    UNIQUE (node_id, indicator_code)
);

CREATE TABLE metric_point (
    time       timestamptz      NOT NULL,
    series_id  int              NOT NULL,
    value      double precision NOT NULL
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
