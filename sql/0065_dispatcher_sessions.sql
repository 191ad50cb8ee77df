-- Claims tied to the dispatcher's database session: each dispatcher holds a session-level
-- advisory lock (class 815620065, key claim_owner) on a dedicated connection for its life and
-- stamps claim_owner on what it claims (alerter/delivery/sending/owner.py). The server drops a
-- killed dispatcher's session at once and its lock with it, so its claims are taken over at
-- once rather than when the 120 s lease runs out; the lease stays for a hung process.
-- NULL: claimed before this migration, or by a dispatcher without an owner (lease only).
ALTER TABLE notification ADD COLUMN claim_owner integer;
