"""A fake IM / webhook / Alertmanager endpoint on 127.0.0.1 for channel tests.

It answers like the vendors do (reference/alerting-and-im-bots.md §3): it checks the token,
recomputes DingTalk and Feishu signatures (timestamps within one hour) and the QuayWatch
webhook HMAC, enforces the documented size limits, records every request, and plays back a
script of replies (``play``), then answers success. The vendor is chosen by the path:
``/robot/send`` DingTalk, ``/cgi-bin/webhook/send`` WeCom, ``…/bot/v2/hook/<token>`` Feishu,
``/services/…/<token>`` Slack, ``…/api/v2/alerts`` Alertmanager, anything else the webhook.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes import im_vendors
from tests.fakes.im_vendors import Reply
from tests.fakes.serving import Serving


@dataclass
class Received:
    """One request as the fake saw it; ``verdict`` is "ok" or why the vendor would refuse it."""

    vendor: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    verdict: str = "ok"

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def vendor_of(path: str) -> str:
    if path.startswith("/robot/send"):
        return "dingtalk"
    if path.startswith("/cgi-bin/webhook/send"):
        return "wecom"
    if "/bot/v2/hook/" in path:
        return "feishu"
    if path.startswith("/services/"):
        return "slack"
    if path.endswith("/api/v2/alerts"):
        return "alertmanager"
    return "webhook"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        reply = self.server.owner.handle(self.path, dict(self.headers.items()), body)
        if reply.delay:
            self.server.owner.stopping.wait(reply.delay)
        data, content_type = reply.encoded()
        self.send_response(reply.status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep pytest output clean; tests read .requests instead


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a TIMEOUT reply may still be sleeping when the test ends

    def __init__(self, owner: ImServer) -> None:
        super().__init__((owner.host, 0), _Handler)
        self.owner = owner

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the client gave up on a slow reply (BrokenPipe): that is the point of TIMEOUT


@dataclass
class ImServer(Serving):
    """Start with ``with ImServer(token, secret) as server``; ``server.url`` is its base URL."""

    # A short poll interval: shutdown() waits up to one interval, once per test.
    poll_interval = 0.02

    token: str
    secret: str | None = None
    host: str = "127.0.0.1"
    requests: list[Received] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    _script: deque[Reply] = field(default_factory=deque)
    _httpd: _Server | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://{self.host}:{self._httpd.server_address[1]}"

    def play(self, *replies: Reply) -> None:
        """Answer the next accepted requests with ``replies``, in order, then success."""
        self._script.extend(replies)

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> Reply:
        parts = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        received = Received(vendor_of(parts.path), parts.path, query, headers, body)
        self.requests.append(received)
        refusal = im_vendors.check(received, self.token, self.secret)
        if refusal is not None:
            received.verdict = refusal.reason
            return refusal
        reply = self._script.popleft() if self._script else im_vendors.OK
        return im_vendors.success(received.vendor) if reply is im_vendors.OK else reply

    def _make_server(self) -> _Server:
        return _Server(self)

    def stop(self) -> None:
        self.stopping.set()
        super().stop()
