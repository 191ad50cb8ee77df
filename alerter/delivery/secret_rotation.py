"""Key rotation for channel secrets: re-seal every channel with the first key of
``QUAYWATCH_SECRET_KEYS`` (``quaywatch channels rotate-secrets``). Writes channel.secrets and
channel.secrets_encrypted (sql/0105) in the caller's transaction, rows locked ``FOR UPDATE`` so a
concurrent PATCH waits instead of being overwritten with an older seal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.engine import Connection

from quaywatch.security.secret_box import SecretBox, SecretBoxError


@dataclass
class Resealed:
    """What ``reseal_channels`` did, by channel: counts, and the ids it could not open."""

    sealed: int = 0  # legacy plain rows, now encrypted
    rotated: int = 0  # encrypted with an older key, now with the first
    current: int = 0  # already encrypted with the first key: left as they are
    unreadable: list[int] = field(default_factory=list)  # no key opens them: left as they are


def reseal_channels(conn: Connection, box: SecretBox) -> Resealed:
    """Seal every channel's secrets with ``box``'s first key, legacy plain rows included.
    Idempotent: a second run finds every row current. Raises SecretBoxError without keys."""
    box.require_keys()  # before any row is locked
    done = Resealed()
    rows = conn.execute(
        text(
            "SELECT channel_id, secrets, secrets_encrypted FROM channel"
            " WHERE secrets_encrypted IS NOT NULL OR secrets <> '{}'"
            " ORDER BY channel_id FOR UPDATE"
        )
    ).mappings()
    for row in rows.all():
        token = row["secrets_encrypted"]
        try:
            if token is None:
                new, done.sealed = box.seal(row["secrets"]), done.sealed + 1
            elif box.is_current(token):
                done.current += 1
                continue
            else:
                new, done.rotated = box.rotate(token), done.rotated + 1
        except SecretBoxError:
            done.unreadable.append(row["channel_id"])
            continue
        conn.execute(
            text("UPDATE channel SET secrets = '{}', secrets_encrypted = :t WHERE channel_id = :c"),
            {"t": new, "c": row["channel_id"]},
        )
    return done
