"""Feishu / Lark bot (飞书自定义机器人): interactive card, signed body, ``code`` answers; no tables.

https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot (Lark: open.larksuite.com).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import requests
from pydantic import SecretStr

from alerter.channels.base import Channel, ChannelConfig, Outgoing, Payload
from alerter.channels.errors import Outcome
from alerter.channels.http import parse_retry_after
from alerter.channels.render import json_len
from alerter.channels.responses import VendorCode, code_result, vendor_error
from alerter.channels.vendor_urls import url_must, with_example

# code -> handling (reference §3.3); codes not listed are permanent.
ERRORS: dict[int, VendorCode] = {
    # Frequency limited: 100/min and 5/s per bot; frequent at :00 and :30 (doc above).
    11232: VendorCode(Outcome.RATE_LIMITED, None, "100 a minute, 5 a second per bot"),
    # Open-platform frequency control, HTTP 429 with x-ogw-ratelimit-reset (seconds):
    # https://open.feishu.cn/document/server-docs/api-call-guide/frequency-control
    99991400: VendorCode(Outcome.RATE_LIMITED, None, "frequency control"),
    # "sign match fail or timestamp is not within one hour" (feiyu563/PrometheusAlert#422).
    19021: VendorCode(Outcome.PERMANENT, None, "check the signing secret and the clock"),
    19022: VendorCode(Outcome.PERMANENT, None, "IP not allowed"),
    19024: VendorCode(Outcome.PERMANENT, None, "keyword not found"),
    # "param invalid: incoming webhook access token invalid" (reported by users).
    19001: VendorCode(Outcome.PERMANENT, None, "wrong webhook token or bot removed"),
    9499: VendorCode(Outcome.PERMANENT, None, "bad request"),
}

BODY_LIMIT = 20 * 1024  # the whole request body
# "timestamp":"1724300000","sign":"<44 base64 chars>", with room to spare.
SIGN_RESERVE = 96
# Header colour per severity; resolved groups are green.
COLOURS = {"critical": "red", "warning": "orange", "info": "blue"}


def feishu_sign(secret: str, timestamp_s: str) -> str:
    """base64(HmacSHA256(key=f"{timestamp}\\n{secret}", msg=b"")): the string is the key."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


class FeishuConfig(ChannelConfig):
    model_config = with_example(
        {
            "url": "http://127.0.0.1:9/open-apis/bot/v2/hook/example-bot-token",
            "secret": "example-signing-secret",
            "at_all": False,
        }
    )

    secret: SecretStr | None = None  # 签名校验 secret
    at_all: bool = False
    _is_hook = url_must(
        lambda parts: "/hook/" in parts.path, "must be the bot URL, …/open-apis/bot/v2/hook/<token>"
    )


class Feishu(Channel):
    kind = "feishu"
    Config = FeishuConfig
    config: FeishuConfig
    template = "feishu.md.j2"
    byte_limit = BODY_LIMIT

    def template_vars(self) -> dict[str, Any]:
        return {"at_all": self.config.at_all}

    def build_payload(self, context: Mapping[str, Any], title: str, text: str) -> Payload:
        colour = COLOURS.get(context["severity"], "orange") if context["firing"] else "green"
        header = {"title": {"tag": "plain_text", "content": title}, "template": colour}
        element = {"tag": "div", "text": {"tag": "lark_md", "content": text}}
        card = {"config": {"wide_screen_mode": True}, "header": header, "elements": [element]}
        return {"msg_type": "interactive", "card": card}

    def measure(self, text: str) -> int:
        return json_len(text)  # the limit is on the JSON body, escapes included

    def text_budget(self, context: Mapping[str, Any]) -> int:
        title = f"{context['title']} (999/999)"
        empty = self.build_payload(context, title, "")
        return BODY_LIMIT - len(super().sign(empty).body) - SIGN_RESERVE

    def sign(self, payload: Payload) -> Outgoing:
        if self.config.secret is not None:
            timestamp = str(int(self.clock()))  # seconds, within 1 h of Feishu's clock
            sign = feishu_sign(self.config.secret.get_secret_value(), timestamp)
            payload = {"timestamp": timestamp, "sign": sign, **payload}
        return super().sign(payload)

    def classify(self, response: requests.Response) -> str | None:
        if response.status_code == 429:
            reset = parse_retry_after(response.headers.get("x-ogw-ratelimit-reset"))
            raise vendor_error(response, 99991400, "HTTP 429", ERRORS, wait=reset)
        # Legacy answers also carry StatusCode; "code" is the one to check.
        return code_result(response, ERRORS, code_key="code", text_key="msg")
