"""A webhook receiver on 127.0.0.1 that records what arrives and can enforce a rate limit.

It accepts any JSON POST, records the notification id and idempotency key headers, and, when
``per_minute`` is set, answers HTTP 429 with a Retry-After once more than that many requests
arrived in the last 60 seconds (a sliding window, as the reference assumes for WeCom). Used by
the crash-recovery and rate-limit tests and by bench/bench_delivery.py.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes.serving import Serving


@dataclass(frozen=True)
class Arrival:
    at: float  # time.monotonic()
    notification_id: str | None
    key: str | None
    body: Any
    status: int

    @property
    def fingerprints(self) -> list[str]:
        alerts = self.body.get("alerts", []) if isinstance(self.body, dict) else self.body or []
        return [
            a.get("quaywatchFingerprint")
            or a.get("fingerprint")
            or json.dumps(a.get("labels"), sort_keys=True)
            for a in alerts
        ]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as a production receiver would

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if len(raw) < length or not raw:  # the sender died mid-request: nothing was delivered
            self.close_connection = True
            return
        if self.server.owner.delay:
            time.sleep(self.server.owner.delay)
        status, headers = self.server.owner.accept(self.headers, raw)
        self.send_response(status)
        for name, value in {"Content-Length": "0", **headers}.items():
            self.send_header(name, value)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: RecordingReceiver) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.owner = owner


@dataclass
class RecordingReceiver(Serving):
    per_minute: int | None = None
    delay: float = 0.0  # seconds before answering, to stretch a burst out
    arrivals: list[Arrival] = field(default_factory=list)
    _window: deque[float] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _httpd: _Server | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/hook"

    def accept(self, headers: Any, raw: bytes) -> tuple[int, dict[str, str]]:
        now = time.monotonic()
        with self._lock:
            while self._window and self._window[0] <= now - 60:
                self._window.popleft()
            limited = self.per_minute is not None and len(self._window) >= self.per_minute
            status = 429 if limited else 200
            if not limited:
                self._window.append(now)
            retry = str(max(1, round(60 - (now - self._window[0])))) if limited else None
            self.arrivals.append(
                Arrival(
                    now,
                    headers.get("X-QuayWatch-Notification-Id"),
                    headers.get("Idempotency-Key"),
                    json.loads(raw or b"null"),
                    status,
                )
            )
        return status, ({"Retry-After": retry} if retry else {})

    def accepted(self) -> list[Arrival]:
        with self._lock:
            return [a for a in self.arrivals if a.status == 200]

    def most_in_any_minute(self) -> int:
        times = sorted(a.at for a in self.accepted())
        best, start = 0, 0
        for end, moment in enumerate(times):
            while times[start] <= moment - 60:
                start += 1
            best = max(best, end - start + 1)
        return best

    def _make_server(self) -> _Server:
        return _Server(self)
