"""``Channel``: render a context into payloads, send, classify the answer; writes nothing.

A subclass sets ``kind``, ``Config``, ``template`` and ``byte_limit`` and overrides only
``build_payload`` (payload building), ``sign`` (signing) and ``classify`` (the vendor's
answer). HTTP, redaction and splitting live here (STYLE.md G1). Channels raise; the caller
records (G2). ``send`` makes one attempt per payload: backoff and retries belong to the
dispatcher, whose outbox survives restarts.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import requests
from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from alerter.channels.errors import DeliveryError, Outcome
from alerter.channels.http import HttpClient, parse_target, redact
from alerter.channels.render import number_title, render_text, split_text, utf8_len

__all__ = [
    "Channel",
    "ChannelConfig",
    "DeliveryError",
    "Outcome",
    "Outgoing",
    "Payload",
    "SendResult",
    "encode_json",
]

log = logging.getLogger(__name__)
Payload = dict[str, Any]
JSON_CONTENT_TYPE = "application/json; charset=utf-8"


class ChannelConfig(BaseModel):
    """Settings every channel has. The URL is a credential for most vendors, hence SecretStr."""

    # hide_input_in_errors: a ValidationError must not echo a webhook URL back to the API client.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    url: SecretStr
    allow_private: bool = False  # tests and on-premises gateways; see http.check_url

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: SecretStr) -> SecretStr:
        try:  # the parser that connects reads it (http.parse_target), not urlsplit
            parse_target(url.get_secret_value())
        except DeliveryError as exc:
            raise ValueError(exc.message) from None
        return url

    def secrets(self) -> list[str]:
        """Every secret value of this config, and the token-like pieces of its URL."""
        values = [v.get_secret_value() for v in self.__dict__.values() if isinstance(v, SecretStr)]
        parts = urlsplit(self.url.get_secret_value())
        values += [v for _, v in parse_qsl(parts.query) if len(v) >= 8]
        values += [s for s in [parts.path, *parts.path.split("/")] if len(s) >= 16]
        return values


@dataclass(frozen=True)
class Outgoing:
    """One signed request, ready to POST."""

    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class SendResult:
    vendor_code: str | None  # the vendor's success code ("0", "ok", "200") of the last part
    latency_ms: int


def encode_json(payload: Any) -> bytes:
    # ensure_ascii=False: requests' json= writes each CJK character as a 6-byte \\uXXXX escape
    # instead of 3 UTF-8 bytes, which would halve what fits in Feishu's 20 KB body.
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Channel:
    """Base of every channel kind; see the module docstring for what a subclass overrides."""

    kind: ClassVar[str] = ""
    Config: ClassVar[type[ChannelConfig]] = ChannelConfig
    template: ClassVar[str | None] = None  # "<kind>.<fmt>.j2"; None for data-only channels
    dialect: ClassVar[str] = "markdown"
    byte_limit: ClassVar[int | None] = None  # what the vendor caps; see payload_size()

    def __init__(
        self,
        config: ChannelConfig | Mapping[str, Any],
        *,
        client: HttpClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = self.Config.model_validate(config)
        self.client = client or HttpClient()
        self.clock = clock  # signing timestamps; tests move it to prove the vendor checks it

    def close(self) -> None:
        """Release pooled connections. Sessions are not thread-safe: one channel per worker."""
        self.client.close()

    @property
    def url(self) -> str:
        return self.config.url.get_secret_value()

    def render(self, context: Mapping[str, Any], lang: str | None = None) -> list[Payload]:
        """One payload, or several numbered ones when the text exceeds the byte limit."""
        lang = lang or context["lang"]
        ctx = {**context, "lang": lang, **self.template_vars()}
        ctx["title"] = render_text(f"title.{lang}.j2", ctx)
        text = render_text(str(self.template), ctx, dialect=self.dialect)
        parts = split_text(text, self.text_budget(ctx), self.measure)
        return [
            self.build_payload(ctx, number_title(ctx["title"], i, len(parts)), part)
            for i, part in enumerate(parts, 1)
        ]

    def template_vars(self) -> dict[str, Any]:
        """Extra template variables taken from the config (mentions)."""
        return {}

    def text_budget(self, context: Mapping[str, Any]) -> int:
        """How much text fits in one payload, as counted by ``measure``."""
        assert self.byte_limit is not None, f"{self.kind} has no byte limit"
        return self.byte_limit

    def measure(self, text: str) -> int:
        return utf8_len(text)

    def payload_size(self, payload: Payload) -> int:
        """The size the vendor checks against ``byte_limit``: by default the signed body."""
        return len(self.sign(payload).body)

    def build_payload(self, context: Mapping[str, Any], title: str, text: str) -> Payload:
        raise NotImplementedError

    def sign(self, payload: Payload) -> Outgoing:
        """The request for ``payload``; signing channels add their timestamp and signature."""
        return Outgoing(self.url, encode_json(payload), {"Content-Type": JSON_CONTENT_TYPE})

    def classify(self, response: requests.Response) -> str | None:
        """Return the vendor's success code, or raise DeliveryError."""
        raise NotImplementedError

    def send(self, payloads: Sequence[Payload], timeout: float = 10.0) -> SendResult:
        """POST each payload in order, signed at send time (signatures expire after an hour).

        Raises DeliveryError on the first failure, redacted and with ``parts_sent`` set.
        """
        started, code = time.monotonic(), None
        for index, payload in enumerate(payloads):
            try:
                out = self.sign(payload)
                response = self.client.post(
                    out.url,
                    out.body,
                    out.headers,
                    timeout=timeout,
                    allow_private=self.config.allow_private,
                )
                code = self.classify(response)
            except DeliveryError as exc:
                raise self._redacted(exc, index, len(payloads)) from None
        latency_ms = round((time.monotonic() - started) * 1000)
        log.debug(
            "%s: %d part(s) delivered in %d ms, vendor code %s",
            self.kind,
            len(payloads),
            latency_ms,
            code,
        )
        return SendResult(code, latency_ms)

    def _redacted(self, exc: DeliveryError, index: int, total: int) -> DeliveryError:
        secrets = self.config.secrets()
        part = f"part {index + 1}/{total}: " if total > 1 else ""
        code = redact(exc.vendor_code, secrets) if exc.vendor_code else None
        return DeliveryError(
            f"{self.kind}: {part}{redact(exc.message, secrets)}",
            exc.outcome,
            retry_after=exc.retry_after,
            vendor_code=code,
            parts_sent=index,
        )
