-- TimescaleDB provides hypertables, time_bucket and drop_chunks; everything else is plain PostgreSQL.
CREATE EXTENSION IF NOT EXISTS timescaledb;
