"""Writes inhibit_rule (sql/0105) and its audit_log rows; reads it for dispatch and the API.

Dispatch reads the enabled rules once per pass (``enabled_rules``: one query over a small
table) and then the firing alerts that any rule's source matchers could match
(``rule_sources``: one query on active_alert's partial indexes on ``kind`` and ``alertname``
when every rule pins one of them with ``=`` or a regex of alternatives, as the shipped rule
does; every firing alert otherwise, about 15 ms per 1,000 firing alerts: docs/channels.md).
A stored rule that no longer parses is skipped and logged once (``reads.parse_each``); the
others apply.

API reads take ``root``, the node of the token asking, and return only the rules owned by
nodes in its subtree. Every change writes its audit_log row (object_type ``inhibit_rule``,
through ``alerter.rules.store.write_audit``) in the same transaction as the change.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from alerter.delivery.matchers import all_match
from alerter.delivery.reads import Unreadable, in_subtree, parse_each
from alerter.delivery.suppression.inhibition import InhibitRule, Source, source_filter
from alerter.rules.store import Actor, write_audit

COLUMNS = (
    "r.inhibit_rule_id, r.node_id, r.name, r.source_matchers, r.target_matchers, r.equal,"
    " r.enabled, r.created_by, r.created_at, r.updated_at"
)
WRITABLE = frozenset({"node_id", "name", "source_matchers", "target_matchers", "equal", "enabled"})
JSONB = frozenset({"source_matchers", "target_matchers"})
OBJECT_TYPE = "inhibit_rule"


# --- dispatch -------------------------------------------------------------------------------


def enabled_rules(conn: Connection, bad: list[Unreadable] | None = None) -> list[InhibitRule]:
    rows = conn.execute(
        text(f"SELECT {COLUMNS} FROM inhibit_rule r WHERE r.enabled ORDER BY r.inhibit_rule_id")
    ).mappings()
    return parse_each(rows, "inhibit_rule", "inhibit_rule_id", InhibitRule.from_row, bad)


def _source(row: Mapping[Any, Any]) -> Source:
    labels = row["labels"]
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise ValueError("labels: not an object of strings")
    return Source(row["fingerprint"], labels, tuple(row["path"]))


def rule_sources(
    conn: Connection, rules: list[InhibitRule], bad: list[Unreadable] | None = None
) -> list[Source]:
    """The firing alerts that may inhibit others under ``rules``, with where they were raised;
    no query at all when there is no rule."""
    if not rules:
        return []
    pinned = source_filter(rules)
    where = "a.status = 'firing'"
    if pinned is not None:
        # One partial index per label (active_alert_firing_idx on kind;
        # active_alert_firing_alertname_idx, sql/0105): a bitmap OR of index scans.
        # The labels come from INDEXED_LABELS, never from a row.
        either = [f"a.labels ->> '{label}' = ANY (:{label})" for label in pinned]
        where += f" AND ({' OR '.join(either)})"
    rows = conn.execute(
        text(
            "SELECT a.fingerprint, a.labels, COALESCE(o.path, ARRAY[a.node_id]) AS path"
            " FROM active_alert a LEFT JOIN org_node o ON o.node_id = a.node_id"
            f" WHERE {where}"
        ),
        pinned or {},
    ).mappings()
    found = parse_each(rows, "active_alert", "fingerprint", _source, bad)
    # Once per pass, so that the inhibit stage compares each alert with real sources only.
    return [s for s in found if any(all_match(r.source, s.labels) for r in rules)]


# --- API reads ------------------------------------------------------------------------------


def owned(
    conn: Connection, root: str, limit: int, offset: int, rule_id: int | None = None
) -> list[dict[str, Any]]:
    """One page of the rules owned in ``root``'s subtree, or the one whose id is ``rule_id``."""
    where = in_subtree("r.node_id")
    if rule_id is not None:
        where += " AND r.inhibit_rule_id = :id"
    sql = (
        f"SELECT {COLUMNS} FROM inhibit_rule r WHERE {where}"
        " ORDER BY r.inhibit_rule_id LIMIT :limit OFFSET :offset"
    )
    params = {"root": root, "limit": limit, "offset": offset, "id": rule_id}
    return [dict(row) for row in conn.execute(text(sql), params).mappings()]


def _get(conn: Connection, rule_id: int) -> dict[str, Any]:
    sql = f"SELECT {COLUMNS} FROM inhibit_rule r WHERE r.inhibit_rule_id = :id"
    return dict(conn.execute(text(sql), {"id": rule_id}).mappings().one())


def _audited(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("created_at", "updated_at")}


# --- writes ---------------------------------------------------------------------------------


def _placeholder(column: str) -> str:
    return f"CAST(:{column} AS jsonb)" if column in JSONB else f":{column}"


def _params(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: json.dumps(v, ensure_ascii=False) if k in JSONB else v for k, v in values.items()}


def _only(values: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(values) - WRITABLE
    assert not unknown, f"not inhibit_rule columns: {sorted(unknown)}"
    return dict(values)


def create(conn: Connection, values: Mapping[str, Any], actor: Actor) -> int:
    """Insert a rule written by ``actor`` (its ``created_by``); returns its id."""
    values = _only(values)
    columns = [*values, "created_by"]
    sql = (
        f"INSERT INTO inhibit_rule ({', '.join(columns)})"
        f" VALUES ({', '.join(_placeholder(c) for c in columns)}) RETURNING inhibit_rule_id"
    )
    rule_id = int(
        conn.execute(text(sql), {**_params(values), "created_by": actor.name}).scalar_one()
    )
    after = _get(conn, rule_id)
    write_audit(
        conn, actor, "create", OBJECT_TYPE, str(rule_id), after["node_id"], None, _audited(after)
    )
    return rule_id


def update(
    conn: Connection, rule_id: int, values: Mapping[str, Any], actor: Actor, now: datetime
) -> None:
    values = _only(values)
    before = _get(conn, rule_id)
    if values:
        sets = ", ".join(f"{c} = {_placeholder(c)}" for c in values)
        conn.execute(
            text(f"UPDATE inhibit_rule SET {sets}, updated_at = :now WHERE inhibit_rule_id = :id"),
            {**_params(values), "now": now, "id": rule_id},
        )
    after = _get(conn, rule_id)
    write_audit(
        conn, actor, "update", OBJECT_TYPE, str(rule_id), after["node_id"], _audited(before),
        _audited(after),
    )  # fmt: skip


def delete(conn: Connection, rule_id: int, actor: Actor) -> None:
    before = _get(conn, rule_id)
    conn.execute(text("DELETE FROM inhibit_rule WHERE inhibit_rule_id = :id"), {"id": rule_id})
    write_audit(
        conn, actor, "delete", OBJECT_TYPE, str(rule_id), before["node_id"], _audited(before)
    )
