"""A channel row's config: validation, secret/readable split, masking, senders; no tables.

The vendor's ``Config`` model (``alerter.channels.<kind>``) is the one definition of what a
channel of that kind needs. Its ``SecretStr`` fields (the bot URL, signing secret, bearer
token) are stored apart from the rest, are write-only through the API, and are shown masked:
``https://oapi.dingtalk.com/********`` for a URL, ``********`` for the others.

At rest they are sealed (``quaywatch.security.secret_box``, sql/0105) with the keys the connection's
engine carries: ``seal`` for the store's writes, ``stored_secrets`` for every read. A row
written before encryption keeps its plain ``secrets`` and reads as it did (legacy) until
``quaywatch channels rotate-secrets`` seals it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr
from sqlalchemy.engine import Connection

from alerter.channels import load_channel_class
from alerter.channels.base import Channel, ChannelConfig
from alerter.channels.errors import DeliveryError, Outcome
from alerter.channels.http import HttpClient
from quaywatch.errors import ApiError
from quaywatch.security.secret_box import ENGINE_OPTION, VARIABLE, SecretBox, SecretBoxError

MASK = "********"

# Messages a minute and a second per bot, from the vendors' documents (reference §3 table):
# DingTalk 20/min (then a 10-minute ban), WeCom 20/min, Feishu 100/min and 5/s, Slack about
# 1/s. Webhook and Alertmanager receivers are ours to size: no limit unless configured.
VENDOR_RATES: dict[str, tuple[int | None, int | None]] = {
    "dingtalk": (20, None),
    "wecom": (20, None),
    "feishu": (100, 5),
    "slack": (60, 1),
    "webhook": (None, None),
    "alertmanager": (None, None),
}


def config_model(kind: str) -> type[ChannelConfig]:
    return load_channel_class(kind).Config


def config_schema(kind: str, partial: bool = False) -> dict[str, Any]:
    """The JSON schema of ``kind``'s config as the API takes it, for the OpenAPI document:
    without ``allow_private``, which the server sets (QUAYWATCH_ALLOW_PRIVATE_URLS), and its
    secrets write-only (``format: password``). ``partial``: a PATCH's, every key optional,
    since it merges into the stored config. Its ``example`` (the model's) uses loopback URLs and
    fake secrets, so trying it out never reaches a vendor."""
    schema = config_model(kind).model_json_schema()
    del schema["properties"]["allow_private"]
    if partial:  # a key left out keeps its stored value: no defaults either
        schema.pop("required", None)
        schema.pop("example", None)
        schema["title"] += "Patch"
        for field in schema["properties"].values():
            field.pop("default", None)
    return schema


def secret_fields(kind: str) -> frozenset[str]:
    """Names of the fields of ``kind``'s config that hold credentials."""
    model = config_model(kind)
    return frozenset(
        name for name, info in model.model_fields.items() if "SecretStr" in str(info.annotation)
    )


def validate(kind: str, values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """(readable config, secrets) from user input; raises pydantic.ValidationError.

    ``allow_private`` is not the user's to set: settings.allow_private_urls decides it.
    """
    model = config_model(kind)
    parsed = model.model_validate({**values, "allow_private": True})
    dumped = parsed.model_dump(exclude={"allow_private"}, exclude_none=True)
    secrets = secret_fields(kind)
    readable = {k: v for k, v in dumped.items() if k not in secrets}
    hidden = {
        k: v.get_secret_value()
        for k, v in dumped.items()
        if k in secrets and isinstance(v, SecretStr)
    }
    return readable, hidden


def masked(kind: str, config: Mapping[str, Any], secrets: Mapping[str, str]) -> dict[str, Any]:
    """The config as the API shows it: readable fields, and each secret masked."""
    shown = dict(config)
    for name in sorted(secret_fields(kind)):
        if name not in secrets:
            continue
        shown[name] = mask_url(secrets[name]) if name == "url" else MASK
    return shown


def mask_url(url: str) -> str:
    """Scheme and host only: the path and query of a bot URL are its credential."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}/{MASK}"


def bot_key(kind: str, secrets: Mapping[str, str]) -> str:
    """Identifies the bot behind a channel: two channels on one robot URL share its rate limit."""
    url = secrets.get("url", "")
    return hashlib.sha256(f"{kind}\n{url}".encode()).hexdigest()[:24]


class SecretsUnavailable(ApiError):
    """Secrets cannot be sealed (no key, or a malformed one): a 503 naming the variable, since
    the fix is the server's configuration, not the request."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            503, "Channel secrets cannot be stored", reason, [{"field": VARIABLE, "reason": reason}]
        )


def secret_box(conn: Connection) -> SecretBox:
    """The keys of the connection's engine (``quaywatch.db.make_engine``); raises
    SecretBoxError when one is malformed."""
    return SecretBox(str(conn.get_execution_options().get(ENGINE_OPTION, "")))


def seal(conn: Connection, secrets: Mapping[str, str]) -> str:
    """``secrets`` as the token the channel row stores; SecretsUnavailable without a key."""
    try:
        return secret_box(conn).seal(secrets)
    except SecretBoxError as exc:
        raise SecretsUnavailable(str(exc)) from None


def stored_secrets(conn: Connection, row: Mapping[Any, Any]) -> tuple[dict[str, str], str]:
    """(secrets, problem) of a channel row: the sealed ones opened, a legacy row's plain ones
    as stored; ``({}, reason)`` when no key opens them, so one row never breaks a read."""
    sealed = row.get("secrets_encrypted")
    if sealed is None:
        return dict(row["secrets"]), ""
    try:
        return secret_box(conn).open(sealed), ""
    except SecretBoxError as exc:
        return {}, str(exc)


def rates(kind: str, rate_per_minute: int | None) -> tuple[int | None, int | None]:
    """(per minute, per second) limits: the configured minute rate, else the vendor's."""
    per_minute, per_second = VENDOR_RATES.get(kind, (None, None))
    return (rate_per_minute or per_minute), per_second


@dataclass(frozen=True)
class ChannelRecord:
    """A channel with its secrets, as dispatch and test sends need it."""

    channel_id: int
    node_id: str
    name: str
    kind: str
    config: Mapping[str, Any]
    secrets: Mapping[str, str]
    lang: str = "zh"
    rate_per_minute: int | None = None
    fallback_channel_id: int | None = None
    bot_key: str = ""
    unreadable: str = ""  # why its secrets could not be opened; empty when they were

    @classmethod
    def from_row(cls, row: Mapping[Any, Any], unreadable: str = "") -> ChannelRecord:
        return cls(
            row["channel_id"],
            row["node_id"],
            row["name"],
            row["kind"],
            row["config"],
            row["secrets"],
            row["lang"],
            row["rate_per_minute"],
            row["fallback_channel_id"],
            row["bot_key"],
            unreadable,
        )

    @property
    def secret_values(self) -> list[str]:
        return [v for v in self.secrets.values() if v]

    def build(self, allow_private: bool, client: HttpClient | None = None) -> Channel:
        """The sender; raises pydantic.ValidationError if the stored config no longer fits,
        and DeliveryError if its secrets could not be opened (recorded as this channel's
        error; retryable, since putting the key back fixes it)."""
        if self.unreadable:
            raise DeliveryError(f"{self.kind}: {self.unreadable}", Outcome.RETRYABLE)
        cls = load_channel_class(self.kind)
        values = {**self.config, **self.secrets, "allow_private": allow_private}
        return cls(values, client=client)
