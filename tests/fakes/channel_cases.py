"""Per-kind facts the conformance tests need: how to aim a channel at the fake, and what each
vendor answers when throttled or when refusing a message under HTTP 200."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.fakes import im_vendors as replies
from tests.fakes.im_server import Received
from tests.fakes.im_vendors import Reply

TOKEN = "tok7f3a9c2e5b1d4a6f8e0c91b2"
SECRET = "SEC9d8c7b6a5f4e3d2c1b0a998877665544332211"
WRONG_TOKEN = "tokWRONG00000000000000000000"
WRONG_SECRET = "SECWRONG000000000000000000000000000000000"
CLIENT_TIMEOUT = 0.5  # seconds; replies.TIMEOUT sleeps longer


def config_for(kind: str, base: str, token: str = TOKEN, secret: str = SECRET) -> dict[str, Any]:
    """A config for ``kind`` aimed at the fake server at ``base`` (127.0.0.1, hence private)."""
    configs: dict[str, dict[str, Any]] = {
        "webhook": {"url": f"{base}/quaywatch/hook", "secret": secret},
        "alertmanager": {"url": base, "bearer_token": token},
        "dingtalk": {"url": f"{base}/robot/send?access_token={token}", "secret": secret},
        "wecom": {"url": f"{base}/cgi-bin/webhook/send?key={token}"},
        "feishu": {"url": f"{base}/open-apis/bot/v2/hook/{token}", "secret": secret},
        "slack": {"url": f"{base}/services/T0001/B0001/{token}"},
    }
    return {**configs[kind], "allow_private": True}


@dataclass(frozen=True)
class KindCase:
    kind: str
    signature: Callable[[Received], Any] | None  # where the signature travels, if signed
    rate_limit: Reply  # the vendor's answer when over its rate
    retry_after: float | None  # what the channel should then report
    error_code: Reply | None  # a refusal under HTTP 200 (errcode/code != 0)
    garbage_ok: bool  # a 2xx with an unreadable body still counts as delivered
    success_code: str

    def __str__(self) -> str:
        return self.kind


CASES: dict[str, KindCase] = {
    "webhook": KindCase(
        "webhook",
        lambda r: r.headers.get("X-QuayWatch-Signature"),
        replies.HTTP_429,
        7.0,
        None,
        True,
        "200",
    ),
    "alertmanager": KindCase("alertmanager", None, replies.HTTP_429, 7.0, None, True, "200"),
    "dingtalk": KindCase(
        "dingtalk",
        lambda r: r.query.get("sign"),
        replies.DINGTALK_130101,
        600.0,
        replies.DINGTALK_310000,
        False,
        "0",
    ),
    "wecom": KindCase("wecom", None, replies.WECOM_45009, 60.0, replies.WECOM_93000, False, "0"),
    "feishu": KindCase(
        "feishu",
        lambda r: r.json.get("sign"),
        replies.FEISHU_11232,
        None,
        replies.FEISHU_19024,
        False,
        "0",
    ),
    "slack": KindCase("slack", None, replies.HTTP_429, 7.0, None, False, "ok"),
}
SPLITTING_KINDS = ["dingtalk", "wecom", "feishu", "slack"]
