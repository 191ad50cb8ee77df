from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import text

from collector.intake.cargo_events import poll_due, upsert_feed
from collector.intake.feeds import FeedConfig, backoff
from collector.metrics import compute

NOW = datetime.now(UTC).replace(microsecond=0)


def page(n: int) -> list[dict[str, object]]:
    return [
        {
            "event_id": f"feed-{n}-{i}",
            "kind": "arrived",
            "lot_id": f"feed-lot-{n}-{i}",
            "site_id": "5304-SHEKOU",
            "occurred_at": (NOW - timedelta(minutes=30 - i)).isoformat(),
        }
        for i in range(3)
    ]


class Station(BaseHTTPRequestHandler):
    """Each path is one station's behaviour; queries are recorded for assertions."""

    seen: list[tuple[str, dict[str, list[str]], str | None]] = []

    def do_GET(self) -> None:  # noqa: N802
        url = urlparse(self.path)
        Station.seen.append((url.path, parse_qs(url.query), self.headers.get("X-Station-Key")))
        if url.path == "/good":
            cursor = parse_qs(url.query).get("since", ["0"])[0]
            body = {"events": page(int(cursor)), "next_cursor": str(int(cursor) + 1)}
            self._send(200, json.dumps(body))
        elif url.path == "/foreign":
            events = page(0)
            events[1]["site_id"] = "2201-YANGSHAN"  # another customs' site
            self._send(200, json.dumps(events))
        elif url.path == "/slow":
            time.sleep(1.5)
            self._send(200, "[]")
        elif url.path == "/garbage":
            self._send(200, "<html>maintenance</html>")
        elif url.path == "/busy":
            self._send(503, "busy", {"Retry-After": "120"})
        else:
            self._send(500, "boom")

    def _send(self, status: int, body: str, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body.encode())
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def station() -> Iterator[str]:
    Station.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Station)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def add(engine, feed_id: str, url: str) -> None:
    with engine.begin() as conn:
        upsert_feed(
            conn, FeedConfig(feed_id, url, "5304-SHEKOU", "X-Station-Key", "s3cret", interval_s=30)
        )


def feed(engine, feed_id: str) -> dict[str, object]:
    with engine.connect() as conn:
        return dict(
            conn.execute(text("SELECT * FROM station_feed WHERE feed_id = :f"), {"f": feed_id})
            .mappings()
            .one()
        )


def test_a_good_feed_stores_events_and_resumes_from_its_cursor(engine, settings, station):
    add(engine, "good", station + "/good")
    assert poll_due(engine, settings)[0].stored == 3
    assert feed(engine, "good")["cursor"] == "1"
    with engine.begin() as conn:
        conn.execute(text("UPDATE station_feed SET next_poll_at = now()"))
    poll_due(engine, settings)
    assert Station.seen[-1][1] == {"since": ["1"]}
    assert Station.seen[-1][2] == "s3cret"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM cargo_event")).scalar() == 6


def test_a_feed_for_one_site_cannot_write_another_customs_site(engine, settings, station):
    add(engine, "foreign", station + "/foreign")
    [outcome] = poll_due(engine, settings)
    assert (outcome.stored, outcome.rejected) == (2, 1)
    assert "site_id" in feed(engine, "foreign")["last_error"]
    with engine.connect() as conn:
        sites = conn.execute(text("SELECT DISTINCT site_id FROM cargo_event")).scalars().all()
    assert sites == ["5304-SHEKOU"]


def test_broken_feeds_back_off_keep_their_cursor_and_do_not_block_the_others(
    engine, settings, station
):
    for name in ("slow", "garbage", "busy", "error"):
        add(engine, name, f"{station}/{name}")
    add(engine, "good", station + "/good")
    with engine.begin() as conn:
        conn.execute(text("UPDATE station_feed SET cursor = '7' WHERE feed_id <> 'good'"))
    outcomes = {o.feed_id: o for o in poll_due(engine, settings.replace(feed_timeout_s=0.5))}
    assert outcomes["good"].ok and outcomes["good"].stored == 3
    assert outcomes["slow"].error == "timed out after 0.5 s"
    assert outcomes["garbage"].error == "response is not JSON"
    assert outcomes["error"].error == "HTTP 500"
    for name in ("slow", "garbage", "busy", "error"):
        state = feed(engine, name)
        assert state["cursor"] == "7"
        assert state["consecutive_failures"] == 1
        assert state["next_poll_at"] > datetime.now(UTC) + timedelta(seconds=25)
    assert feed(engine, "busy")["next_poll_at"] > datetime.now(UTC) + timedelta(seconds=115)
    assert poll_due(engine, settings) == []  # nothing is due again yet


def test_backoff_grows_with_failures_and_honours_retry_after():
    assert 30 <= backoff(30, 1, None) <= 60
    assert all(backoff(30, 10, None) <= 3600 for _ in range(50))
    assert backoff(30, 1, 600) >= 600


def test_a_failing_feed_shows_up_in_the_feed_health_indicator(engine, settings, station):
    add(engine, "error", station + "/error")
    poll_due(engine, settings)
    at = datetime.now(UTC).replace(second=0, microsecond=0)
    with engine.begin() as conn:
        compute(conn, [at], live=True)
        value = conn.execute(
            text(
                "SELECT value FROM series_latest JOIN series USING (series_id)"
                " WHERE node_id = '5304-SHEKOU' AND indicator_code = 'feed_failures'"
            )
        ).scalar()
    assert value == 1
