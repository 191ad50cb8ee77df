from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import text

from collector.risk.intake import DeclarationFeed, poll_due, upsert_feed
from tests.collector.helpers import select_one, select_value


class Broker(BaseHTTPRequestHandler):
    """A customs broker's system: /good pages through declarations by cursor, /down fails."""

    pages: dict[str, list[dict[str, object]]] = {}

    def do_GET(self) -> None:  # noqa: N802
        url = urlparse(self.path)
        if url.path == "/good":
            cursor = parse_qs(url.query).get("since", ["0"])[0]
            body = {"events": Broker.pages.get(cursor, []), "next_cursor": str(int(cursor) + 1)}
            self._send(200, json.dumps(body))
        else:
            self._send(503, "down")

    def _send(self, status: int, body: str) -> None:
        self.send_response(status)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def broker() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Broker)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_feed_is_pulled_screened_and_its_cursor_kept(broker, engine, settings, risk):
    Broker.pages = {
        "0": [risk.declaration(1, net_kg=9.0), {"declaration_id": "bad"}],
        "1": [risk.declaration(2)],
    }
    with engine.begin() as conn:
        upsert_feed(conn, DeclarationFeed("broker", f"{broker}/good", interval_s=1))
        upsert_feed(conn, DeclarationFeed("offline", f"{broker}/down"))
    outcomes = {o.feed_id: o for o in poll_due(engine, settings)}
    assert (outcomes["broker"].stored, outcomes["broker"].rejected) == (1, 1)
    assert not outcomes["offline"].ok and "503" in (outcomes["offline"].error or "")
    assert "net_over_gross" in risk.flags("D00001")
    row = select_one(
        engine,
        "SELECT cursor, declarations_total, last_error FROM declaration_feed"
        " WHERE feed_id = 'broker'",
    )
    assert row[0] == "1" and row[1] == 1 and row[2].startswith("1 rejected")
    failures = select_value(
        engine, "SELECT consecutive_failures FROM declaration_feed WHERE feed_id = 'offline'"
    )
    assert failures == 1
    with engine.begin() as conn:
        conn.execute(text("UPDATE declaration_feed SET next_poll_at = now()"))
    poll_due(engine, settings)
    assert risk.mark("D00002")[0] is None


def test_a_conflicting_copy_from_a_feed_is_rejected_and_the_first_kept(
    broker, engine, settings, risk
):
    first = risk.declaration(1)
    Broker.pages = {"0": [first, {**first, "declared_value": 1.0}, risk.declaration(2)]}
    with engine.begin() as conn:
        upsert_feed(conn, DeclarationFeed("broker", f"{broker}/good"))
    [outcome] = poll_due(engine, settings)
    assert (outcome.stored, outcome.rejected) == (2, 1)
    with engine.connect() as conn:
        note = conn.execute(text("SELECT last_error FROM declaration_feed")).scalar()
        value = conn.execute(
            text("SELECT declared_value FROM declaration WHERE declaration_id = 'D00001'")
        ).scalar()
    assert note.startswith("1 rejected, first: declaration_id: conflicts with")
    assert value == first["declared_value"]
