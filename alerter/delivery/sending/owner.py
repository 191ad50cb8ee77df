"""The dispatcher's claim owner: a session-level advisory lock held for the engine's life; no tables.

A claim belongs to the PostgreSQL session that made it (sql/0105, notification.claim_owner). Each engine's dispatcher
holds ``pg_advisory_lock(OWNER_LOCK_CLASS, owner_id)`` on a dedicated autocommit connection
and stamps ``claim_owner = owner_id`` on what it claims. The server drops a killed process's
session as soon as its socket closes, and the lock with it, so ``store.free_orphans`` frees
those claims at once; the time lease stays as the fallback for a process hung but connected.
"""

from __future__ import annotations

import random
import threading
import weakref
from typing import Any

import psycopg
from sqlalchemy import Engine, event

# The first key of the two-key advisory lock form: apart from the one-key bot locks
# (hashtext, objsubid 1 in pg_locks); this one shows as classid/objid with objsubid 2.
OWNER_LOCK_CLASS = 815_620_065
_MAX_ID = 2**31 - 1  # the second key is an int4; positive so that pg_locks.objid reads back


class ClaimOwner:
    """One dispatcher's identity in the database: valid while its lock connection lives."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None
        self._id = 0

    def current(self) -> int:
        """The owner id to stamp on claims, (re)taking the lock if the session is gone."""
        with self._lock:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._take()
            return self._id

    def lost(self) -> None:
        """The database no longer shows our lock (a server restart, a terminated backend):
        take a new one before claiming again."""
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
            self._conn = None

    def _take(self) -> None:
        conn = psycopg.connect(self._dsn, autocommit=True)
        rng = random.SystemRandom()
        for _ in range(16):  # a collision with a live dispatcher is one in 2**31 per try
            candidate = rng.randint(1, _MAX_ID)
            row = conn.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", (OWNER_LOCK_CLASS, candidate)
            ).fetchone()
            if row is not None and row[0]:
                self._conn, self._id = conn, candidate
                return
        conn.close()
        raise RuntimeError("no free dispatcher owner id after 16 tries")


# One owner per engine, made on first use (nothing at import time): the lock must outlive
# each pass. Closed when the engine is disposed or collected, so tests leave no session.
_owners: weakref.WeakKeyDictionary[Engine, ClaimOwner] = weakref.WeakKeyDictionary()
_guard = threading.Lock()


def owner_of(engine: Engine) -> ClaimOwner:
    with _guard:
        owner = _owners.get(engine)
        if owner is None:
            dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            owner = _owners[engine] = ClaimOwner(dsn)
            weakref.finalize(engine, owner.close)
            event.listen(engine, "engine_disposed", _forget)
    return owner


def _forget(engine: Engine) -> None:
    with _guard:
        owner = _owners.pop(engine, None)
    if owner is not None:
        owner.close()
