-- Tokens end: a token past expires_at is refused like a revoked one (quaywatch/auth.py).
-- NULL (every token made before this migration, and the bootstrap admin) never expires.
ALTER TABLE api_token ADD COLUMN expires_at timestamptz;
