from __future__ import annotations

import threading
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from alerter.delivery.dispatch import dispatch_once
from tests.alerter.helpers import FAST, T0, delivered, emit, rows
from tests.fakes import im_vendors as replies


def step(engine, settings, seconds: float):
    return dispatch_once(engine, settings, T0 + timedelta(seconds=seconds), policy=FAST)


def test_a_firing_alert_waits_group_wait_then_arrives_once_with_its_notification_id(
    engine, settings, receiver, webhook_channel
):
    channel_id = webhook_channel()
    emit(engine)

    assert step(engine, settings, 0).routed == 1
    early = step(engine, settings, 29)
    assert (early.enqueued, early.sent) == (0, 0)
    assert receiver.requests == []

    due = step(engine, settings, 31)
    assert (due.enqueued, due.sent) == (1, 1)
    [body] = delivered(receiver)
    [notification] = rows(engine, "SELECT * FROM notification")
    assert body["_id"] == str(notification["notification_id"])
    assert notification["state"] == "sent" and notification["channel_id"] == channel_id
    assert body["notification_reason"] == "first notification"
    assert body["alerts"][0]["labels"]["severity"] == "critical"

    assert step(engine, settings, 400).sent == 0  # nothing changed: nothing sent again


def test_alerts_of_one_group_arrive_together_and_a_resolve_follows_after_group_interval(
    engine, settings, receiver, webhook_channel
):
    webhook_channel(group_by=["alertname"])
    emit(engine, node_id="3101-BEILUN")
    emit(engine, node_id="3101-DAXIE")
    step(engine, settings, 0)
    step(engine, settings, 31)
    emit(engine, "resolved", node_id="3101-DAXIE")

    assert step(engine, settings, 60).sent == 0  # group_interval (5 min) not yet over
    assert step(engine, settings, 31 + 301).sent == 1

    first, second = delivered(receiver)
    assert len(first["alerts"]) == 2
    assert second["notification_reason"] == "some alerts resolved"
    assert {a["labels"]["site"]: a["status"] for a in second["alerts"]} == {
        "3101-BEILUN": "firing",
        "3101-DAXIE": "resolved",
    }


def test_an_unchanged_firing_group_repeats_after_repeat_interval(
    engine, settings, receiver, webhook_channel
):
    webhook_channel(repeat_interval_s=3600)
    emit(engine)
    step(engine, settings, 0)
    step(engine, settings, 31)

    assert step(engine, settings, 31 + 3599).sent == 0
    assert step(engine, settings, 31 + 3600).sent == 1
    assert delivered(receiver)[-1]["notification_reason"] == "repeat interval elapsed"
    [group] = rows(engine, "SELECT next_flush_at, next_reason FROM notify_group")
    assert group["next_reason"] == "repeat_interval"
    assert group["next_flush_at"] == T0 + timedelta(seconds=31 + 3600 + 3600)


def test_when_every_alert_resolves_the_group_says_so_and_is_forgotten(
    engine, settings, receiver, webhook_channel
):
    webhook_channel(group_wait_s=0)
    emit(engine)
    step(engine, settings, 0)
    emit(engine, "resolved")

    assert step(engine, settings, 300).sent == 1
    assert delivered(receiver)[-1]["status"] == "resolved"
    assert delivered(receiver)[-1]["notification_reason"] == "all alerts resolved"
    assert rows(engine, "SELECT * FROM notify_group") == []


def test_a_resolve_of_an_alert_never_announced_sends_nothing(
    engine, settings, receiver, webhook_channel
):
    webhook_channel()
    emit(engine)
    emit(engine, "resolved")

    step(engine, settings, 0)
    assert step(engine, settings, 31).enqueued == 0
    assert receiver.requests == []


def test_every_message_links_the_port_dashboard_at_the_alerts_time(
    engine, settings, receiver, make_dingtalk
):
    make_dingtalk(group_wait_s=0)
    emit(engine, node_id="3101-BEILUN")

    step(engine, settings, 0)

    [request] = receiver.requests
    text = request.json["markdown"]["text"]
    link = text[text.index("http://127.0.0.1:3000/d/qw-port?") :].split(")")[0]
    query = parse_qs(urlsplit(link).query)
    assert query["var-site"] == ["3101-BEILUN"]
    assert int(query["from"][0]) == int((T0 - timedelta(hours=1)).timestamp() * 1000)
    assert int(query["to"][0]) == int((T0 + timedelta(hours=1)).timestamp() * 1000)


def test_a_retryable_failure_is_retried_with_backoff_and_each_attempt_recorded(
    engine, settings, receiver, webhook_channel
):
    webhook_channel(group_wait_s=0)
    receiver.play(replies.HTTP_500)
    emit(engine)

    first = step(engine, settings, 0)
    assert (first.sent, first.failed) == (0, 1)
    assert step(engine, settings, 1).sent == 1

    attempts = rows(
        engine,
        "SELECT status, vendor_code, error, attempt FROM delivery_attempt ORDER BY attempt_id",
    )
    assert [(a["status"], a["vendor_code"], a["attempt"]) for a in attempts] == [
        ("retryable", "500", 1),
        ("success", "200", 2),
    ]
    assert "HTTP 500" in attempts[0]["error"]


def test_two_dispatchers_in_parallel_send_each_notification_once(
    engine, settings, receiver, webhook_channel
):
    webhook_channel(group_wait_s=0, group_by=["..."])
    for index in range(60):
        emit(engine, node_id="3101-BEILUN", berth=f"B{index}")
    now = T0 + timedelta(seconds=1)
    barrier = threading.Barrier(2)

    def dispatcher() -> None:
        barrier.wait()
        for _ in range(5):
            dispatch_once(engine, settings, now, policy=FAST)

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    ids = [body["_id"] for body in delivered(receiver)]
    assert len(ids) == 60
    assert len(set(ids)) == 60
    states = rows(engine, "SELECT state, count(*) AS n FROM notification GROUP BY state")
    assert states == [{"state": "sent", "n": 60}]


def test_pruning_drops_finished_notifications_and_attempts_after_30_days(
    engine, settings, receiver, webhook_channel
):
    from alerter.delivery.dispatch import prune_once

    webhook_channel(group_wait_s=0)
    emit(engine)
    step(engine, settings, 0)

    assert prune_once(engine, settings, T0 + timedelta(days=29))["notifications"] == 0
    dropped = prune_once(engine, settings, T0 + timedelta(days=31))
    assert dropped == {"attempts": 1, "notifications": 1, "alerts": 0}
    assert rows(engine, "SELECT * FROM notification") == []


def test_an_idle_pass_does_nothing(engine, settings, webhook_channel):
    webhook_channel()
    result = step(engine, settings, 0)
    assert result.as_dict() == {
        "routed": 0, "flushed": 0, "enqueued": 0, "sent": 0, "failed": 0, "dead": 0,
        "folded": 0, "more": False,
    }  # fmt: skip
