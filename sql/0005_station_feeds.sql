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
