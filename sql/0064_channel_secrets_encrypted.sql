-- Channel secrets encrypted at rest: secrets_encrypted holds one Fernet token of the JSON
-- mapping (bot URL, signing secret, bearer token), sealed with the first key of
-- QUAYWATCH_SECRET_KEYS by alerter/delivery/store.py. SQL has no key, so this migration cannot
-- encrypt: rows written before it keep their plain `secrets`, are read as legacy rows, and are
-- sealed by `quaywatch channels rotate-secrets` (docs/channels.md).
ALTER TABLE channel ADD COLUMN secrets_encrypted text;
-- A row keeps its secrets one way: once sealed, no plain copy stays beside the token.
ALTER TABLE channel ADD CONSTRAINT channel_secrets_one_way
    CHECK (secrets_encrypted IS NULL OR secrets = '{}');
