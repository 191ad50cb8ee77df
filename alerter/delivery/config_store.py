"""Delivery's configuration writes: channels, their mute intervals, silences, mute intervals.

Tables: channel (+ its first channel_state row, and channel_state's unreadable mark),
channel_mute_interval, silence, mute_interval (bodies checked by ``delivery.api`` and
``delivery.suppression.silence_api``). With ``delivery.store`` and ``delivery.sending.store``,
the only writer of sql/0105's tables. Functions run in the caller's transaction at the caller's
``now``, never the database's, so a test can step the clock.

Channel secrets are written sealed (``channel_config.seal``: ``secrets_encrypted``, sql/0105),
never plain; without a key the write raises ``SecretsUnavailable`` (the API's 503). Key
rotation re-seals them in delivery.secret_rotation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from alerter.delivery.channel_config import seal

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


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _params(values: Mapping[str, Any]) -> dict[str, Any]:
    # None is SQL NULL (refused by NOT NULL), never the JSON value null stored in a jsonb column.
    return {k: _json(v) if k in JSONB_COLUMNS and v is not None else v for k, v in values.items()}


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


def _delete(conn: Connection, table: str, key: str, row_id: int) -> bool:
    sql = f"DELETE FROM {table} WHERE {key} = :row_id RETURNING 1"
    return conn.execute(text(sql), {"row_id": row_id}).first() is not None


def _only(values: Mapping[str, Any], allowed: frozenset[str]) -> dict[str, Any]:
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"not a column: {', '.join(sorted(unknown))}")
    return dict(values)


# --- channels -------------------------------------------------------------------------------


def create_channel(
    conn: Connection, values: Mapping[str, Any], created_by: str, mute_ids: Sequence[int] = ()
) -> int:
    row = {**_sealed(conn, _only(values, CHANNEL_COLUMNS)), "created_by": created_by}
    channel_id = _insert(conn, "channel", "channel_id", row)
    conn.execute(text("INSERT INTO channel_state (channel_id) VALUES (:c)"), {"c": channel_id})
    set_channel_mutes(conn, channel_id, mute_ids)
    return channel_id


def update_channel(
    conn: Connection, channel_id: int, values: Mapping[str, Any], now: datetime
) -> bool:
    row = _sealed(conn, _only(values, CHANNEL_COLUMNS))
    return _update(conn, "channel", "channel_id", channel_id, row, now)


def _sealed(conn: Connection, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with the secrets moved into their sealed column (an empty plain one stays,
    as sql/0105's check wants)."""
    if "secrets" not in values:
        return values
    return {**values, "secrets": {}, "secrets_encrypted": seal(conn, values["secrets"])}


def set_channel_mutes(conn: Connection, channel_id: int, mute_ids: Sequence[int]) -> None:
    conn.execute(text("DELETE FROM channel_mute_interval WHERE channel_id = :c"), {"c": channel_id})
    for mute_id in sorted(set(mute_ids)):
        conn.execute(
            text(
                "INSERT INTO channel_mute_interval (channel_id, mute_interval_id) VALUES (:c, :m)"
            ),
            {"c": channel_id, "m": mute_id},
        )


def record_unreadable(conn: Connection, channel_id: int, reason: str, now: datetime) -> None:
    """Say on the channel's health that its stored row does not parse (dispatch skips it)."""
    conn.execute(
        text(
            "UPDATE channel_state SET last_error = :e, last_error_at = :now"
            " WHERE channel_id = :c AND last_error IS DISTINCT FROM :e"
        ),
        {"c": channel_id, "e": f"channel skipped by dispatch: {reason}", "now": now},
    )


def delete_channel(conn: Connection, channel_id: int) -> bool:
    return _delete(conn, "channel", "channel_id", channel_id)


# --- silences and mute intervals ------------------------------------------------------------


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


def create_mute_interval(conn: Connection, values: Mapping[str, Any]) -> int:
    return _insert(conn, "mute_interval", "mute_interval_id", _only(values, MUTE_COLUMNS))


def update_mute_interval(
    conn: Connection, interval_id: int, values: Mapping[str, Any], now: datetime
) -> bool:
    checked = _only(values, MUTE_COLUMNS)
    return _update(conn, "mute_interval", "mute_interval_id", interval_id, checked, now)


def delete_mute_interval(conn: Connection, interval_id: int) -> bool:
    return _delete(conn, "mute_interval", "mute_interval_id", interval_id)
