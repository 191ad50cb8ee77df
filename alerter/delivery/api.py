"""Delivery API under /api/v1: channels, test sends, deliveries, dead letters, groups.

Writes through delivery.config_store (channels) and delivery.sending.store (requeued dead letters).

Silences and mute intervals are in ``silence_api``, nested in this blueprint. A token sees and
changes only objects of nodes in its subtree; anything else answers 404, as if absent.
Channel secrets are write-only: responses show them masked (``channel_config.masked``).
Scopes: ``read`` for GET, ``channels:write`` for changes, test sends and requeues.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Literal

from flask import Blueprint, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.engine import Connection

from alerter.channels import CHANNEL_KINDS
from alerter.channels.errors import DeliveryError
from alerter.channels.http import check_url
from alerter.delivery import config_store, reads
from alerter.delivery.channel_config import MASK, bot_key, config_schema, masked, validate
from alerter.delivery.matchers import Matcher
from alerter.delivery.metrics import install as install_metrics
from alerter.delivery.probe import send_test
from alerter.delivery.sending import store as sending_store
from alerter.delivery.suppression.inhibit_api import bp as inhibit_bp
from alerter.delivery.suppression.silence_api import bp as silence_bp
from quaywatch.http.openapi import body as doc_body
from quaywatch.http.resources import add_delete_route, add_get_route, add_list_route
from quaywatch.http.routes import allow
from quaywatch.http.support import (
    ID_MAX,
    PAGE,
    Param,
    bad_arg,
    body,
    field_problem,
    found_one,
    inline_schema,
    int_arg,
    invalid,
    jsonable,
    listing,
    not_found,
    own_node,
    page,
    page_args,
    principal,
    time_arg,
    unique,
)
from quaywatch.web import app_engine, app_settings

log = logging.getLogger(__name__)
bp = Blueprint("delivery", __name__, url_prefix="/api/v1")
bp.register_blueprint(silence_bp)
bp.register_blueprint(inhibit_bp)
bp.record_once(lambda state: install_metrics(state.app))

Kind = Literal["webhook", "alertmanager", "dingtalk", "wecom", "feishu", "slack"]
DAY = 86400


class ChannelPatch(BaseModel):
    """Fields a PATCH may change; ``config`` merges into the stored one (secrets included)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    name: str | None = Field(None, min_length=1, max_length=100)
    node_id: str | None = None
    config: dict[str, Any] | None = None
    matchers: list[Matcher] | None = None
    group_by: list[str] | None = Field(None, max_length=20)
    group_wait_s: int | None = Field(None, ge=0, le=DAY)
    group_interval_s: int | None = Field(None, ge=1, le=DAY)
    repeat_interval_s: int | None = Field(None, ge=1, le=30 * DAY)
    send_resolved: bool | None = None
    lang: Literal["zh", "en"] | None = None
    rate_per_minute: int | None = Field(None, ge=1, le=100_000)
    fallback_channel_id: int | None = None
    mute_interval_ids: list[int] | None = None
    enabled: bool | None = None


class ChannelIn(ChannelPatch):
    name: str = Field(min_length=1, max_length=100)
    kind: Kind
    config: dict[str, Any]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _documented_bodies() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(POST body, PATCH body, their components) as the OpenAPI document shows them: one
    channel schema per kind whose ``config`` is that kind's config, picked by ``kind``, and a
    PATCH ``config`` of any kind's keys. Only the document says this much: ChannelIn still
    parses the body and ``_config_values`` the config, so the 422s stay as they are."""
    base, patch = inline_schema(ChannelIn), inline_schema(ChannelPatch)
    components: dict[str, Any] = {}
    mapping: dict[str, str] = {}
    for kind in CHANNEL_KINDS:
        config, partial = config_schema(kind), config_schema(kind, partial=True)
        name = config["title"].removesuffix("Config")
        components[config["title"]], components[partial["title"]] = config, partial
        properties = {"kind": {"type": "string", "enum": [kind]}, "config": _ref(config["title"])}
        example = {"name": f"{kind} on duty", "kind": kind, "config": config["example"]}
        components[f"{name}Channel"] = {
            **base,
            "title": f"{name}Channel",
            "properties": {**base["properties"], **properties},
            "example": example,
        }
        mapping[kind] = _ref(f"{name}Channel")["$ref"]
    partials = [_ref(name) for name in components if name.endswith("ConfigPatch")]
    patch["properties"]["config"] = {
        "anyOf": [*partials, {"type": "null"}],
        "description": "keys of the channel's kind; merged into the stored config",
    }
    # The shared fields stay on the union too, where a reader (and a fuzzer) finds them.
    shared = {
        **base["properties"],
        "config": {"type": "object", "description": "the kind's config"},
    }
    union = {
        "title": "ChannelIn",
        "type": "object",
        "properties": shared,
        "required": base["required"],
        "oneOf": [{"$ref": ref} for ref in mapping.values()],
        "discriminator": {"propertyName": "kind", "mapping": mapping},
    }
    return union, patch, components


CHANNEL_BODY, CHANNEL_PATCH, CHANNEL_SCHEMAS = _documented_bodies()


def _shown(row: dict[str, Any]) -> dict[str, Any]:
    health = {
        k: row.pop(k)
        for k in ("blocked_until", "last_error", "last_error_at", "last_success_at", "meta_firing")
    }
    health["delivery_failing"] = health.pop("meta_firing")
    secrets = row.pop("secrets")
    row["config"] = masked(row["kind"], row["config"], secrets)
    row["mute_interval_ids"] = list(row["mute_interval_ids"])
    row["health"] = health
    return dict(jsonable(row))


def _visible_channel(conn: Connection, channel_id: int) -> dict[str, Any]:
    return found_one(
        reads.channels(conn, principal().node_id, 1, 0, channel_id), "channel", channel_id
    )


def _config_values(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """Validate a kind's config and refuse internal addresses unless settings allow them."""
    if "allow_private" in config:
        raise field_problem(
            "config.allow_private", "is set by the server (QUAYWATCH_ALLOW_PRIVATE_URLS)"
        )
    try:
        readable, secrets = validate(kind, config)
    except ValidationError as exc:
        raise invalid(exc, "config.") from None
    try:
        check_url(secrets["url"], app_settings().allow_private_urls)
    except DeliveryError as exc:
        raise field_problem("config.url", exc.message) from None
    return {"config": readable, "secrets": secrets, "bot_key": bot_key(kind, secrets)}


def _references(conn: Connection, patch: ChannelPatch, channel_id: int | None) -> None:
    """The fallback channel and mute intervals must be visible to the token too."""
    root = principal().node_id
    fallback = patch.fallback_channel_id
    if fallback is not None and (
        fallback == channel_id or not reads.channels(conn, root, 1, 0, fallback)
    ):
        raise field_problem(
            "fallback_channel_id", f"no other channel {fallback} in this token's subtree"
        )
    for mute_id in patch.mute_interval_ids or []:
        if not reads.mute_intervals(conn, root, 1, 0, mute_id):
            raise field_problem(
                "mute_interval_ids", f"no mute interval {mute_id} in this token's subtree"
            )


def _columns(patch: ChannelPatch) -> dict[str, Any]:
    values = patch.model_dump(exclude_unset=True, exclude={"config", "mute_interval_ids", "kind"})
    if patch.matchers is not None:
        values["matchers"] = [m.model_dump() for m in patch.matchers]
    return values


add_list_route(bp, "/channels", "list_channels", reads.channels, _shown)
add_get_route(bp, "/channels", "channel_id", "get_channel", _visible_channel, _shown)


@bp.post("/channels")
@allow("channels:write")
@doc_body(CHANNEL_BODY, components=CHANNEL_SCHEMAS)
def create_channel() -> Any:
    patch = body(ChannelIn)
    values = {**_columns(patch), **_config_values(patch.kind, dict(patch.config))}
    values["kind"] = patch.kind
    with unique("name", "a channel"), app_engine().begin() as conn:
        values["node_id"] = own_node(conn, patch.node_id)
        _references(conn, patch, None)
        mutes = patch.mute_interval_ids or []
        new_id = config_store.create_channel(conn, values, principal().name, mutes)
        row = _visible_channel(conn, new_id)
    log.info("channel %d (%s) created by %s", new_id, values["kind"], principal().name)
    return _shown(row), 201


@bp.patch("/channels/<int:channel_id>")
@allow("channels:write")
@doc_body(CHANNEL_PATCH, components=CHANNEL_SCHEMAS)
def update_channel(channel_id: int) -> Any:
    patch = body(ChannelPatch)
    with unique("name", "a channel"), app_engine().begin() as conn:
        current = _visible_channel(conn, channel_id)
        values = _columns(patch)
        if patch.config is not None:
            values.update(_merged_config(current, patch.config))
        if patch.node_id is not None:
            values["node_id"] = own_node(conn, patch.node_id)
        _references(conn, patch, channel_id)
        config_store.update_channel(conn, channel_id, values, datetime.now(UTC))
        if patch.mute_interval_ids is not None:
            config_store.set_channel_mutes(conn, channel_id, patch.mute_interval_ids)
        row = _visible_channel(conn, channel_id)
    return _shown(row)


def _merged_config(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A PATCH's config merged into the stored one: secrets left out, or sent back masked as
    a GET showed them, keep their stored value."""
    kept = {k: v for k, v in changes.items() if not (isinstance(v, str) and MASK in v)}
    return _config_values(current["kind"], {**current["config"], **current["secrets"], **kept})


add_delete_route(
    bp,
    "/channels",
    "channel_id",
    "delete_channel",
    "channels:write",
    _visible_channel,
    config_store.delete_channel,
)


@bp.post("/channels/<int:channel_id>/test")
@allow("channels:write")
def test_channel(channel_id: int) -> Any:
    """Send a test message now: one attempt, no retries; the result says what the vendor said."""
    with app_engine().connect() as conn:
        _visible_channel(conn, channel_id)
        record = reads.channel_record(conn, channel_id)
    assert record is not None
    return send_test(app_engine(), app_settings(), record).as_dict()


@bp.get("/channels/<int:channel_id>/groups")
@allow("read", *PAGE)
def list_groups(channel_id: int) -> Any:
    """Each aggregation group with its next flush time and why (alertmanager#2166)."""
    limit, offset = page_args()
    with app_engine().connect() as conn:
        _visible_channel(conn, channel_id)
        found = reads.groups(conn, channel_id, limit + 1, offset)
    return page(found, limit, offset)


@bp.get("/deliveries")
@allow(
    "read",
    *PAGE,
    Param("channel_id", "integer", maximum=ID_MAX),
    Param("notification_id", "integer", maximum=ID_MAX),
    Param("status", enum=("success", "rate_limited", "retryable", "permanent")),
    Param("since", "date-time"),
)
def list_deliveries() -> Any:
    """Delivery attempts, newest first; filters: channel_id, status, notification_id, since."""
    status = request.args.get("status")
    if status is not None and status not in ("success", "rate_limited", "retryable", "permanent"):
        raise bad_arg("status", "success, rate_limited, retryable or permanent")
    filters = {
        "channel_id": int_arg("channel_id"),
        "notification_id": int_arg("notification_id"),
        "status": status,
        "since": time_arg("since"),
    }
    return listing(
        lambda conn, root, limit, offset: reads.deliveries(conn, root, filters, limit, offset)
    )


@bp.get("/notifications")
@allow("read", *PAGE, Param("state", description="pending, sent, dead, ..."))
def list_notifications() -> Any:
    state = request.args.get("state")
    return listing(
        lambda conn, root, limit, offset: reads.notifications(conn, root, state, limit, offset)
    )


@bp.get("/dead-letters")
@allow("read", *PAGE)
def list_dead_letters() -> Any:
    """Notifications whose retry budget is spent (or refused permanently)."""
    return listing(
        lambda conn, root, limit, offset: reads.notifications(conn, root, "dead", limit, offset)
    )


@bp.post("/dead-letters/<int:notification_id>/retry")
@allow("channels:write")
def retry_dead_letter(notification_id: int) -> Any:
    """Queue a dead letter again, with a fresh retry budget (after fixing the channel)."""
    with app_engine().begin() as conn:
        if not reads.notifications(conn, principal().node_id, "dead", 1, 0, notification_id):
            raise not_found("dead letter", notification_id)
        sending_store.requeue_dead(conn, notification_id, datetime.now(UTC))
    return {"notification_id": notification_id, "state": "pending"}, 202


@bp.get("/channel-kinds")
@allow("read")
def list_channel_kinds() -> Any:
    return {"items": [{"kind": k, "name": name} for k, (name, _) in CHANNEL_KINDS.items()]}
