"""Silences and mute time intervals under /api/v1 (nested in ``delivery.api.bp``).

Writes through delivery.config_store (silence, mute_interval).

A silence belongs to a node and mutes only alerts of that node's subtree; its author
(``created_by``) is the calling token's name, never the body's: a body naming one is refused
(422), so no token can record a silence in someone else's name. Alertmanager takes
``createdBy`` from the client; here the token is the identity (docs/api.md). DELETE expires a
silence (it stays listed, as in Alertmanager) and removes a mute interval. Scope
``silences:write`` for both.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from alerter.delivery import config_store, reads
from alerter.delivery.matchers import Matcher
from alerter.delivery.suppression.silences import DEFAULT_TZ, TimeInterval, check_timezone
from quaywatch.http.openapi import body as doc_body
from quaywatch.http.resources import add_delete_route, add_get_route, add_list_route
from quaywatch.http.routes import allow
from quaywatch.http.support import (
    body,
    field_problem,
    found_one,
    inline_schema,
    jsonable,
    own_node,
    principal,
    unique,
)
from quaywatch.web import app_engine

bp = Blueprint("silences", __name__)


class SilenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    matchers: list[Matcher] = Field(min_length=1, max_length=50)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime
    comment: str = Field(min_length=1, max_length=2000)
    created_by: str | None = Field(
        None, description="Refused: the author is the calling token's name."
    )
    node_id: str | None = None

    @field_validator("created_by")
    @classmethod
    def _author_is_the_token(cls, value: str | None) -> None:
        # Refused rather than ignored: a client that sends it learns at once that it is not
        # recorded, instead of finding another name on the silence later.
        raise ValueError("is set from the calling token (its name); leave it out")


class SilencePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    matchers: list[Matcher] | None = Field(None, min_length=1, max_length=50)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    comment: str | None = Field(None, min_length=1, max_length=2000)


class MuteIntervalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    time_zone: str = DEFAULT_TZ
    intervals: list[TimeInterval] = Field(min_length=1, max_length=50)
    node_id: str | None = None

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_timezone(value)


class MuteIntervalPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=100)
    time_zone: str | None = None
    intervals: list[TimeInterval] | None = Field(None, min_length=1, max_length=50)

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return check_timezone(value) if value is not None else None


def _silence_state(row: dict[str, Any], now: datetime) -> str:
    if row["ends_at"] <= now:
        return "expired"
    return "active" if row["starts_at"] <= now else "pending"


def _shown_silence(row: dict[str, Any]) -> dict[str, Any]:
    return {**jsonable(row), "state": _silence_state(row, datetime.now(UTC))}


def _window(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise field_problem("ends_at", "must be after starts_at")
    if ends_at <= datetime.now(UTC):
        raise field_problem("ends_at", "must be in the future")


def _visible_silence(conn: Any, silence_id: int) -> dict[str, Any]:
    return found_one(
        reads.silences(conn, principal().node_id, 1, 0, silence_id), "silence", silence_id
    )


add_list_route(bp, "/silences", "list_silences", reads.silences, _shown_silence)
add_get_route(bp, "/silences", "silence_id", "get_silence", _visible_silence, _shown_silence)


@bp.post("/silences")
@allow("silences:write")
@doc_body(inline_schema(SilenceIn))
def create_silence() -> Any:
    new = body(SilenceIn)
    starts_at = new.starts_at or datetime.now(UTC)
    _window(starts_at, new.ends_at)
    values = {
        "matchers": [m.model_dump() for m in new.matchers],
        "starts_at": starts_at,
        "ends_at": new.ends_at,
        "comment": new.comment,
    }
    with app_engine().begin() as conn:
        values["node_id"] = own_node(conn, new.node_id)
        silence_id = config_store.create_silence(conn, values, principal().name)
        return _shown_silence(_visible_silence(conn, silence_id)), 201


@bp.patch("/silences/<int:silence_id>")
@allow("silences:write")
@doc_body(inline_schema(SilencePatch))
def update_silence(silence_id: int) -> Any:
    patch = body(SilencePatch)
    values = patch.model_dump(exclude_unset=True)
    if patch.matchers is not None:
        values["matchers"] = [m.model_dump() for m in patch.matchers]
    with app_engine().begin() as conn:
        current = _visible_silence(conn, silence_id)
        # An explicit null keeps nothing: the database refuses it (422) after this check.
        _window(
            values.get("starts_at") or current["starts_at"],
            values.get("ends_at") or current["ends_at"],
        )
        config_store.update_silence(conn, silence_id, values, datetime.now(UTC))
        return _shown_silence(_visible_silence(conn, silence_id))


@bp.delete("/silences/<int:silence_id>")
@allow("silences:write")
def expire_silence(silence_id: int) -> Any:
    with app_engine().begin() as conn:
        _visible_silence(conn, silence_id)
        config_store.expire_silence(conn, silence_id, datetime.now(UTC))
        return _shown_silence(_visible_silence(conn, silence_id))


def _visible_interval(conn: Any, interval_id: int) -> dict[str, Any]:
    found = reads.mute_intervals(conn, principal().node_id, 1, 0, interval_id)
    return dict(jsonable(found_one(found, "mute interval", interval_id)))


add_list_route(bp, "/mute-intervals", "list_mute_intervals", reads.mute_intervals)
add_get_route(bp, "/mute-intervals", "interval_id", "get_mute_interval", _visible_interval)


@bp.post("/mute-intervals")
@allow("silences:write")
@doc_body(inline_schema(MuteIntervalIn))
def create_mute_interval() -> Any:
    new = body(MuteIntervalIn)
    values = new.model_dump(exclude={"node_id"})
    with unique("name", "a mute interval"), app_engine().begin() as conn:
        values["node_id"] = own_node(conn, new.node_id)
        interval_id = config_store.create_mute_interval(conn, values)
        return _visible_interval(conn, interval_id), 201


@bp.patch("/mute-intervals/<int:interval_id>")
@allow("silences:write")
@doc_body(inline_schema(MuteIntervalPatch))
def update_mute_interval(interval_id: int) -> Any:
    values = body(MuteIntervalPatch).model_dump(exclude_unset=True)
    with unique("name", "a mute interval"), app_engine().begin() as conn:
        _visible_interval(conn, interval_id)
        config_store.update_mute_interval(conn, interval_id, values, datetime.now(UTC))
        return _visible_interval(conn, interval_id)


add_delete_route(
    bp,
    "/mute-intervals",
    "interval_id",
    "delete_mute_interval",
    "silences:write",
    _visible_interval,
    config_store.delete_mute_interval,
)
