"""Writes of the API: channels, silences and mute intervals (validated by delivery_api first).

With ``delivery_store`` and ``sending_store``, the only writers of the tables in sql/0022.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

JSONB_COLUMNS = frozenset({"config", "secrets", "matchers", "intervals"})
CHANNEL_COLUMNS = frozenset(
    {
        "node_id", "name", "kind", "config", "secrets", "bot_key", "matchers", "group_by",
        "group_wait_s", "group_interval_s", "repeat_interval_s", "send_resolved", "lang",
        "rate_per_minute", "fallback_channel_id", "enabled",
    }
)  # fmt: skip
SILENCE_COLUMNS = frozenset({"node_id", "matchers", "starts_at", "ends_at", "comment"})
MUTE_COLUMNS = frozenset({"node_id", "name", "time_zone", "intervals"})


def _params(values: Mapping[str, Any]) -> dict[str, Any]:
    # None is SQL NULL (refused by NOT NULL), never the JSON value null stored in a jsonb column.
    return {
        k: json.dumps(v, ensure_ascii=False) if k in JSONB_COLUMNS and v is not None else v
        for k, v in values.items()
    }


def _placeholder(column: str) -> str:
    return f"CAST(:{column} AS jsonb)" if column in JSONB_COLUMNS else f":{column}"


def _insert(conn: Connection, table: str, key: str, values: Mapping[str, Any]) -> int:
    columns = sorted(values)
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)})"
        f" VALUES ({', '.join(_placeholder(c) for c in columns)}) RETURNING {key}"
    )
    return int(conn.execute(text(sql), _params(values)).scalar_one())


def _update(
    conn: Connection, table: str, key: str, row_id: int, values: Mapping[str, Any], now: datetime
) -> bool:
    sets = [f"{c} = {_placeholder(c)}" for c in sorted(values)] + ["updated_at = :updated_at"]
    sql = f"UPDATE {table} SET {', '.join(sets)} WHERE {key} = :row_id RETURNING 1"
    params = {**_params(values), "updated_at": now, "row_id": row_id}
    return conn.execute(text(sql), params).first() is not None


def _only(values: Mapping[str, Any], allowed: frozenset[str]) -> dict[str, Any]:
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"not a column: {', '.join(sorted(unknown))}")
    return dict(values)


# --- channels -------------------------------------------------------------------------------


def create_channel(
    conn: Connection, values: Mapping[str, Any], created_by: str, mute_ids: Sequence[int] = ()
) -> int:
    row = {**_only(values, CHANNEL_COLUMNS), "created_by": created_by}
    channel_id = _insert(conn, "channel", "channel_id", row)
    conn.execute(text("INSERT INTO channel_state (channel_id) VALUES (:c)"), {"c": channel_id})
    set_channel_mutes(conn, channel_id, mute_ids)
    return channel_id


def update_channel(
    conn: Connection, channel_id: int, values: Mapping[str, Any], now: datetime
) -> bool:
    return _update(conn, "channel", "channel_id", channel_id, _only(values, CHANNEL_COLUMNS), now)


def set_channel_mutes(conn: Connection, channel_id: int, mute_ids: Sequence[int]) -> None:
    conn.execute(text("DELETE FROM channel_mute_interval WHERE channel_id = :c"), {"c": channel_id})
    for mute_id in sorted(set(mute_ids)):
        conn.execute(
            text(
                "INSERT INTO channel_mute_interval (channel_id, mute_interval_id) VALUES (:c, :m)"
            ),
            {"c": channel_id, "m": mute_id},
        )


def delete_channel(conn: Connection, channel_id: int) -> bool:
    sql = "DELETE FROM channel WHERE channel_id = :c RETURNING 1"
    return conn.execute(text(sql), {"c": channel_id}).first() is not None


# --- silences -------------------------------------------------------------------------------


def create_silence(conn: Connection, values: Mapping[str, Any], created_by: str) -> int:
    row = {**_only(values, SILENCE_COLUMNS), "created_by": created_by}
    return _insert(conn, "silence", "silence_id", row)


def update_silence(
    conn: Connection, silence_id: int, values: Mapping[str, Any], now: datetime
) -> bool:
    return _update(conn, "silence", "silence_id", silence_id, _only(values, SILENCE_COLUMNS), now)


def expire_silence(conn: Connection, silence_id: int, now: datetime) -> bool:
    """End the silence now; a silence that has not started yet ends before it starts."""
    row = conn.execute(
        text(
            "UPDATE silence SET starts_at = LEAST(starts_at, :before), ends_at = :now,"
            " updated_at = :now WHERE silence_id = :s AND ends_at > :now RETURNING 1"
        ),
        {"s": silence_id, "now": now, "before": now - timedelta(seconds=1)},
    ).first()
    return row is not None


# --- mute intervals -------------------------------------------------------------------------


def create_mute_interval(conn: Connection, values: Mapping[str, Any]) -> int:
    return _insert(conn, "mute_interval", "mute_interval_id", _only(values, MUTE_COLUMNS))


def update_mute_interval(
    conn: Connection, interval_id: int, values: Mapping[str, Any], now: datetime
) -> bool:
    checked = _only(values, MUTE_COLUMNS)
    return _update(conn, "mute_interval", "mute_interval_id", interval_id, checked, now)


def delete_mute_interval(conn: Connection, interval_id: int) -> bool:
    sql = "DELETE FROM mute_interval WHERE mute_interval_id = :m RETURNING 1"
    return conn.execute(text(sql), {"m": interval_id}).first() is not None
