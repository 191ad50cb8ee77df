-- The login role Grafana connects as: SELECT on the reporting views and nothing else.
-- Grafana sends panel SQL through the simple protocol (several statements run) and any viewer
-- can post SQL to /api/ds/query, so this role is the only guard (reference
-- timescaledb-and-grafana.md section 5). Roles are cluster-wide while migrations run per
-- database: create it only when missing, and tolerate a concurrent creation. No password here:
-- the deployment sets one (compose.yaml's grafana-db-init), so the role cannot log in over a
-- password-checked connection until then.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'quaywatch_grafana') THEN
        CREATE ROLE quaywatch_grafana NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object THEN
    NULL;
END
$$;

ALTER ROLE quaywatch_grafana LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT
    CONNECTION LIMIT 20;
-- A dashboard refresh must never hold the database: long panels fail instead.
ALTER ROLE quaywatch_grafana SET statement_timeout = '10s';
ALTER ROLE quaywatch_grafana SET idle_in_transaction_session_timeout = '60s';
ALTER ROLE quaywatch_grafana SET default_transaction_read_only = on;

DO $$
BEGIN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO quaywatch_grafana', current_database());
END
$$;
GRANT USAGE ON SCHEMA reporting TO quaywatch_grafana;
GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO quaywatch_grafana;
-- Views added to reporting by later migrations (run by the same owner) are readable too.
ALTER DEFAULT PRIVILEGES IN SCHEMA reporting GRANT SELECT ON TABLES TO quaywatch_grafana;
