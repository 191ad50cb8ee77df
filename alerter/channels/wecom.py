"""WeCom group robot (企业微信群机器人): markdown, ``key`` in the URL, errcode answers; no tables.

https://developer.work.weixin.qq.com/document/path/91770 ; no signing: the key is the
credential, with an optional IP allowlist.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from alerter.channels.base import Channel, ChannelConfig, Payload
from alerter.channels.errors import Outcome
from alerter.channels.responses import VendorCode, code_result
from alerter.channels.vendor_urls import in_query, url_must, with_example

# errcode -> handling (reference §3.2); codes not listed are permanent.
ERRORS: dict[int, VendorCode] = {
    # "api freq out of limit": 20 messages a minute per robot
    # (https://www.tencentcloud.com/document/product/248/38208); back off at least 60 s.
    45009: VendorCode(Outcome.RATE_LIMITED, 60.0, "20 messages a minute per robot"),
    # "invalid webhook url": wrong key or the robot was removed (zema1/watchvuln#146).
    93000: VendorCode(Outcome.PERMANENT, None, "wrong key or robot removed"),
    # "markdown.content exceed max length 4096": we split first, so this means a bug.
    40058: VendorCode(Outcome.PERMANENT, None, "content over 4096 bytes"),
    -1: VendorCode(Outcome.RETRYABLE, None, "system busy"),
}

# markdown.content is limited to 4096 bytes of UTF-8 (text messages: 2048).
CONTENT_LIMIT = 4096


class WeComConfig(ChannelConfig):
    model_config = with_example(
        {"url": "http://127.0.0.1:9/cgi-bin/webhook/send?key=example-robot-key"}
    )
    _has_key = url_must(in_query("key"), "must be the robot URL, with key=")


class WeCom(Channel):
    kind = "wecom"
    Config = WeComConfig
    template = "wecom.md.j2"
    byte_limit = CONTENT_LIMIT

    def build_payload(self, context: Mapping[str, Any], title: str, text: str) -> Payload:
        return {"msgtype": "markdown", "markdown": {"content": text}}

    def payload_size(self, payload: Payload) -> int:
        return len(payload["markdown"]["content"].encode("utf-8"))

    def classify(self, response: requests.Response) -> str | None:
        return code_result(response, ERRORS)
