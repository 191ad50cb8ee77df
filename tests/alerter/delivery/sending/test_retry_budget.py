"""Retryable failures are retried for a time budget (Settings.retry_budget_s), not a try count."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from http.server import ThreadingHTTPServer

from alerter.delivery.dispatch import dispatch_once
from alerter.delivery.sending.retry import RetryPolicy
from tests.alerter.helpers import T0, create_channel, emit, rows
from tests.fakes.recording_receiver import RecordingReceiver, _Handler


class _PortServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: RecordingReceiver, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.owner = owner


@dataclass
class ReceiverOnPort(RecordingReceiver):
    """A recording receiver on a chosen port: before start() the port refuses connections."""

    port: int = 0

    def _make_server(self) -> _PortServer:  # type: ignore[override]
        return _PortServer(self, self.port)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def notification(engine) -> dict:
    return rows(
        engine,
        "SELECT state, failures, created_at, dead_at, next_attempt_at FROM notification"
        " ORDER BY notification_id LIMIT 1",
    )[0]


def test_the_retry_budget_comes_from_the_settings(settings):
    assert RetryPolicy.from_settings(settings.replace(retry_budget_s=20)).deadline_s == 20
    assert RetryPolicy.from_settings(settings).deadline_s == 3600
    assert RetryPolicy().max_failures is None  # no try count: the budget alone decides


def test_a_receiver_down_for_30_minutes_loses_nothing_with_the_default_budget(engine, settings):
    port = free_port()
    create_channel(engine, "webhook", {"url": f"http://127.0.0.1:{port}/hook"}, group_wait_s=0)
    emit(engine)
    now = T0
    while now < T0 + timedelta(minutes=30):  # the receiver refuses every try meanwhile
        dispatch_once(engine, settings, now)
        due = notification(engine)
        assert notification(engine)["state"] == "pending"
        now = due["next_attempt_at"]
    tries = notification(engine)["failures"]
    assert 8 < tries < 20  # more than the old 8-try limit; the 10 min cap spaces them out
    with ReceiverOnPort(port=port) as receiver:
        dispatch_once(engine, settings, now)
        assert notification(engine)["state"] == "sent"
        assert len(receiver.accepted()) == 1


def test_past_the_settings_budget_the_notification_is_dead_lettered(engine, settings):
    create_channel(
        engine, "webhook", {"url": f"http://127.0.0.1:{free_port()}/hook"}, group_wait_s=0
    )
    emit(engine)
    short = settings.replace(retry_budget_s=120)
    dispatch_once(engine, short, T0)
    assert notification(engine)["state"] == "pending"
    dispatch_once(engine, short, T0 + timedelta(seconds=121))
    assert notification(engine)["state"] == "dead"


def test_a_receiver_that_refuses_then_recovers_within_the_budget_gets_the_notification(
    engine, settings
):
    port = free_port()
    create_channel(engine, "webhook", {"url": f"http://127.0.0.1:{port}/hook"}, group_wait_s=0)
    emit(engine)
    budget = settings.replace(retry_budget_s=20)
    policy = replace(RetryPolicy.from_settings(budget), base_s=0.2, cap_s=1.0, timeout_s=1.0)
    receiver = ReceiverOnPort(port=port)
    began = time.monotonic()
    dispatch_once(engine, budget, policy=policy)
    try:
        while notification(engine)["state"] != "sent":
            assert time.monotonic() - began < 20, notification(engine)
            if receiver._httpd is None and time.monotonic() - began > 8:
                receiver.start()  # down 8 s, then back
            dispatch_once(engine, budget, policy=policy)
            time.sleep(0.05)
    finally:
        receiver.stop()
    assert notification(engine)["failures"] > 8  # the old try count would have given up
    assert len(receiver.accepted()) == 1
    assert rows(engine, "SELECT count(*) AS n FROM notification WHERE state = 'dead'")[0]["n"] == 0


def test_a_receiver_down_past_the_budget_dead_letters_at_the_budget(engine, settings):
    create_channel(
        engine, "webhook", {"url": f"http://127.0.0.1:{free_port()}/hook"}, group_wait_s=0
    )
    emit(engine)
    budget = settings.replace(retry_budget_s=3)
    policy = replace(RetryPolicy.from_settings(budget), base_s=0.2, cap_s=0.5, timeout_s=1.0)
    began = time.monotonic()
    dispatch_once(engine, budget, policy=policy)
    while notification(engine)["state"] != "dead":
        assert time.monotonic() - began < 10
        dispatch_once(engine, budget, policy=policy)
        time.sleep(0.05)
    lived = notification(engine)["dead_at"] - notification(engine)["created_at"]
    assert timedelta(seconds=3) <= lived < timedelta(seconds=4.5)
