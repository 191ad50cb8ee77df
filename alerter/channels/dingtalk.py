"""DingTalk custom robot (钉钉自定义机器人): markdown, signed URL, errcode answers; no tables.

Sending: https://open.dingtalk.com/document/orgapp/custom-robot-access
Signing: https://open.dingtalk.com/document/robots/customize-robot-security-settings
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import requests
from pydantic import SecretStr

from alerter.channels.base import Channel, ChannelConfig, Outgoing, Payload
from alerter.channels.errors import Outcome
from alerter.channels.responses import VendorCode, code_result
from alerter.channels.vendor_urls import in_query, url_must, with_example

# errcode -> handling. DingTalk answers HTTP 200 in every case; codes not listed are permanent
# (reference §3.1: "other non-zero codes: treat as permanent and store the errmsg").
ERRORS: dict[int, VendorCode] = {
    # "send too fast, exceed 20 times per minute"; the robot is then throttled for 10 minutes.
    130101: VendorCode(Outcome.RATE_LIMITED, 600.0, "20 messages a minute, then a 10-minute ban"),
    # "webhook over limit": a quota, reported by users only; no documented penalty.
    90030: VendorCode(Outcome.RATE_LIMITED, None, "webhook quota exceeded"),
    # Security check: "sign not match", "invalid timestamp" (clock off by more than an hour),
    # "keywords not in content", "ip ... not in whitelist". Configuration, never transient.
    310000: VendorCode(Outcome.PERMANENT, None, "check secret, keywords, IP allowlist, clock"),
    # "token is not exist": a wrong access_token (timonwong/prometheus-webhook-dingtalk#91), or
    # 300005 for an external group (same project, #226).
    300001: VendorCode(Outcome.PERMANENT, None, "wrong access_token or robot removed"),
    300005: VendorCode(Outcome.PERMANENT, None, "wrong access_token or robot removed"),
    -1: VendorCode(Outcome.RETRYABLE, None, "system busy"),
}

# No size limit is documented for markdown.text (reference §3 table); we keep parts to 4 KB.
TEXT_LIMIT = 4096


def dingtalk_sign(secret: str, timestamp_ms: str) -> str:
    """base64(HmacSHA256(key=secret, msg=f"{timestamp}\\n{secret}")), not yet URL-encoded."""
    message = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class DingTalkConfig(ChannelConfig):
    model_config = with_example(
        {
            "url": "http://127.0.0.1:9/robot/send?access_token=example-access-token",
            "secret": "SECexample-signing-secret",
            "at_mobiles": ["13800000000"],
            "at_all": False,
        }
    )

    secret: SecretStr | None = None  # the "SEC…" string of the 加签 security setting
    at_mobiles: tuple[str, ...] = ()
    at_all: bool = False
    _has_token = url_must(in_query("access_token"), "must be the robot URL, with access_token=")


class DingTalk(Channel):
    kind = "dingtalk"
    Config = DingTalkConfig
    config: DingTalkConfig
    template = "dingtalk.md.j2"
    byte_limit = TEXT_LIMIT

    def template_vars(self) -> dict[str, Any]:
        # A markdown mention works only if "@mobile" is in the text and in at.atMobiles.
        return {"at_mobiles": self.config.at_mobiles}

    def build_payload(self, context: Mapping[str, Any], title: str, text: str) -> Payload:
        mentions = {"atMobiles": list(self.config.at_mobiles), "isAtAll": self.config.at_all}
        return {"msgtype": "markdown", "markdown": {"title": title, "text": text}, "at": mentions}

    def payload_size(self, payload: Payload) -> int:
        return len(payload["markdown"]["text"].encode("utf-8"))

    def sign(self, payload: Payload) -> Outgoing:
        out = super().sign(payload)
        if self.config.secret is None:
            return out
        timestamp = str(int(self.clock() * 1000))  # milliseconds, within 1 h of DingTalk's clock
        sign = dingtalk_sign(self.config.secret.get_secret_value(), timestamp)
        # urlencode quotes the raw base64 exactly once; quoting it beforehand too is the
        # double encoding that DingTalk rejects with 310000 (reference §3.1 and §6).
        query = urlencode({"timestamp": timestamp, "sign": sign})
        return replace(out, url=f"{out.url}&{query}")

    def classify(self, response: requests.Response) -> str | None:
        return code_result(response, ERRORS)
