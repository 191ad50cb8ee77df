"""The start/stop lifecycle the fake servers share: an http.server in a daemon thread."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from typing import Self


class Serving:
    """Mixin: `with Fake(...) as fake` serves `_make_server()` until the block ends.

    Subclasses set `_httpd = None` as a field and may shorten `poll_interval`: shutdown()
    waits up to one interval.
    """

    _httpd: ThreadingHTTPServer | None
    poll_interval = 0.5

    def _make_server(self) -> ThreadingHTTPServer:
        raise NotImplementedError

    def start(self) -> Self:
        self._httpd = httpd = self._make_server()
        serve = httpd.serve_forever
        threading.Thread(
            target=serve, kwargs={"poll_interval": self.poll_interval}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
