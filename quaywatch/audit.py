"""Writes audit_log rows: the one INSERT behind every configuration change's audit record.

audit_log (sql/0100) has two writers on purpose (docs/architecture.md): the alerter's rule store
(``alerter.rules.store.write_audit``) and the risk rules (``collector.risk.rules.write_audit``).
Both write through ``write_audit`` here, inside the caller's transaction, so a row is logged
exactly when the change it records commits, and the two cannot drift apart in columns or in how
before/after are serialised.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.engine import Connection


class Actor(Protocol):
    """Who made a change: each package has its own actor type with these three fields."""

    @property
    def name(self) -> str: ...

    @property
    def token_id(self) -> int | None: ...

    @property
    def node_id(self) -> str | None: ...


def _dumps(value: Any) -> str | None:
    # default=str: datetimes and decimals in a stored row's JSON are logged as text.
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


def write_audit(
    conn: Connection,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str,
    node_id: str | None,
    before: Any = None,
    after: Any = None,
) -> None:
    """Insert one audit_log row in the caller's transaction; ``before``/``after`` become JSON."""
    conn.execute(
        text(
            "INSERT INTO audit_log (actor, actor_token_id, actor_node_id, action, object_type,"
            " object_id, node_id, before, after) VALUES (:actor, :token, :actor_node, :action,"
            " :type, :id, :node, CAST(:before AS jsonb), CAST(:after AS jsonb))"
        ),
        {
            "actor": actor.name,
            "token": actor.token_id,
            "actor_node": actor.node_id,
            "action": action,
            "type": object_type,
            "id": object_id,
            "node": node_id,
            "before": _dumps(before),
            "after": _dumps(after),
        },
    )
