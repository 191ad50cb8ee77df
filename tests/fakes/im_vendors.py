"""What each vendor checks and answers, for the fake server in ``im_server.py``.

Codes and texts are the ones in reference/alerting-and-im-bots.md §3, except where a comment
says the fake picks one (the vendor's own code is not documented).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fakes.im_server import Received

ONE_HOUR = 3600  # DingTalk and Feishu refuse timestamps further than this from their clock


@dataclass(frozen=True)
class Reply:
    """A scripted answer: a dict body is sent as JSON, a str as text/plain."""

    status: int = 200
    body: dict[str, Any] | list[Any] | str | bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to sleep before answering
    reason: str = "scripted"

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, (dict, list)):
            return json.dumps(self.body).encode(), "application/json"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain; charset=utf-8"
        return self.body, "application/octet-stream"


def _ding(code: int, msg: str, reason: str = "scripted") -> Reply:
    return Reply(body={"errcode": code, "errmsg": msg}, reason=reason)


def _lark(code: int, msg: str, reason: str = "scripted") -> Reply:
    return Reply(body={"code": code, "msg": msg, "data": {}}, reason=reason)


OK = Reply(reason="ok")  # placeholder: the server answers the vendor's own success
DINGTALK_130101 = _ding(130101, "send too fast, exceed 20 times per minute")
DINGTALK_310000 = _ding(310000, "keywords not in content")
DINGTALK_SYSTEM_BUSY = _ding(-1, "系统繁忙")
WECOM_45009 = _ding(45009, "api freq out of limit")
WECOM_93000 = _ding(93000, "invalid webhook url")
FEISHU_11232 = _lark(11232, "frequency limited")
FEISHU_19021 = _lark(19021, "sign match fail or timestamp is not within one hour")
FEISHU_19024 = _lark(19024, "Key Words Not Found")
HTTP_500 = Reply(500, "internal server error")
HTTP_429 = Reply(429, "rate limited", {"Retry-After": "7"})
TIMEOUT = Reply(delay=3.0, reason="timeout")  # longer than the tests' client timeout
GARBAGE = Reply(200, "<html><body>502 Bad Gateway</body></html>")  # a proxy's error page

SUCCESS: dict[str, Reply] = {
    "dingtalk": _ding(0, "ok", "ok"),
    "wecom": _ding(0, "ok", "ok"),
    "feishu": Reply(
        body={"StatusCode": 0, "StatusMessage": "success", "code": 0, "msg": "success"}
    ),
    "slack": Reply(body="ok"),
    "webhook": Reply(),
    "alertmanager": Reply(),
}


def success(vendor: str) -> Reply:
    return SUCCESS[vendor]


def _fresh(timestamp: str, scale: int) -> bool:
    return timestamp.isdigit() and abs(time.time() * scale - int(timestamp)) <= ONE_HOUR * scale


def dingtalk(req: Received, token: str, secret: str | None) -> Reply | None:
    if req.query.get("access_token") != token:
        return _ding(300001, "token is not exist", "wrong token")
    if secret is not None:  # a robot with the 加签 security setting
        ts, sign = req.query.get("timestamp", ""), req.query.get("sign", "")
        if not _fresh(ts, 1000):
            return _ding(310000, "invalid timestamp", "stale timestamp")
        mac = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256)
        if not hmac.compare_digest(sign, base64.b64encode(mac.digest()).decode()):
            return _ding(310000, "sign not match", "bad signature")
    markdown = req.json.get("markdown") or {}
    if (
        req.json.get("msgtype") != "markdown"
        or not markdown.get("title")
        or not markdown.get("text")
    ):
        return _ding(40035, "缺少参数 json", "bad payload")  # the fake's choice of code
    return None


def wecom(req: Received, token: str, secret: str | None) -> Reply | None:
    if req.query.get("key") != token:
        return _ding(93000, "invalid webhook url", "wrong token")
    content = (req.json.get("markdown") or {}).get("content")
    if req.json.get("msgtype") != "markdown" or not content:
        return _ding(40008, "invalid message type", "bad payload")  # the fake's choice
    if len(content.encode()) > 4096:
        return _ding(40058, "markdown.content exceed max length 4096", "too long")
    return None


def feishu(req: Received, token: str, secret: str | None) -> Reply | None:
    if req.path.rsplit("/", 1)[-1] != token:
        return _lark(19001, "param invalid: incoming webhook access token invalid", "wrong token")
    if len(req.body) > 20 * 1024:
        return _lark(9499, "Bad Request: body over 20 KB", "too long")  # the fake's choice
    body = req.json
    if secret is not None:
        ts, sign = str(body.get("timestamp", "")), str(body.get("sign", ""))
        mac = hmac.new(f"{ts}\n{secret}".encode(), b"", hashlib.sha256)
        expected = base64.b64encode(mac.digest()).decode()
        if not _fresh(ts, 1) or not hmac.compare_digest(sign, expected):
            return _lark(
                19021, "sign match fail or timestamp is not within one hour", "bad signature"
            )
    if body.get("msg_type") != "interactive" or not body.get("card"):
        return _lark(9499, "Bad Request", "bad payload")
    return None


def slack(req: Received, token: str, secret: str | None) -> Reply | None:
    if req.path.rsplit("/", 1)[-1] != token:
        return Reply(403, "invalid_token", reason="wrong token")
    if not req.json.get("text") and not req.json.get("blocks"):
        return Reply(400, "no_text", reason="bad payload")
    if any(len(b.get("text", {}).get("text", "")) > 3000 for b in req.json.get("blocks", [])):
        return Reply(400, "invalid_blocks", reason="too long")
    return None


def webhook(req: Received, token: str, secret: str | None) -> Reply | None:
    if secret is not None:
        ts = req.headers.get("X-QuayWatch-Timestamp", "")
        mac = hmac.new(secret.encode(), ts.encode() + b"." + req.body, hashlib.sha256)
        signature = req.headers.get("X-QuayWatch-Signature", "")
        if not _fresh(ts, 1) or not hmac.compare_digest(signature, f"sha256={mac.hexdigest()}"):
            return Reply(401, "bad signature", reason="bad signature")
    if req.json.get("version") != "4" or not isinstance(req.json.get("alerts"), list):
        return Reply(400, "not an Alertmanager v4 message", reason="bad payload")
    return None


def alertmanager(req: Received, token: str, secret: str | None) -> Reply | None:
    if req.headers.get("Authorization") != f"Bearer {token}":
        return Reply(401, "Unauthorized", reason="wrong token")  # an auth proxy in front
    alerts = req.json
    valid = isinstance(alerts, list) and all(
        isinstance(a, dict) and a.get("labels") and "startsAt" in a for a in alerts
    )
    return (
        None if valid else Reply(400, {"code": 400, "message": "bad alerts"}, reason="bad payload")
    )


CHECKS: dict[str, Callable[[Received, str, str | None], Reply | None]] = {
    "dingtalk": dingtalk,
    "wecom": wecom,
    "feishu": feishu,
    "slack": slack,
    "webhook": webhook,
    "alertmanager": alertmanager,
}


def check(req: Received, token: str, secret: str | None) -> Reply | None:
    """The vendor's refusal of ``req``, or None when the vendor would accept it."""
    try:
        return CHECKS[req.vendor](req, token, secret)
    except (ValueError, AttributeError):  # not JSON, or JSON of the wrong shape
        return Reply(400, "bad request", reason="bad payload")
