-- Scoped API tokens: only a SHA-256 of the token is stored; the token itself is shown once.
CREATE TABLE api_token (
    token_id     int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL,
    token_hash   text NOT NULL UNIQUE,
    role         text NOT NULL CHECK (role IN ('viewer', 'station', 'operator', 'admin')),
    node_id      text NOT NULL REFERENCES org_node (node_id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
