from __future__ import annotations

from datetime import timedelta

import pytest

from alerter.delivery.dispatch import dispatch_once
from tests.alerter.helpers import FAST, SECRET, T0, TOKEN, create_channel, emit, rows
from tests.fakes import im_vendors as replies
from tests.fakes.recording_receiver import RecordingReceiver

ONLY_FALLBACK = [{"name": "route", "op": "=", "value": "fallback-only"}]


@pytest.fixture
def backup():
    with RecordingReceiver() as server:
        yield server


@pytest.fixture
def national():
    with RecordingReceiver() as server:
        yield server


@pytest.fixture
def wired(engine, receiver, backup, national):
    """A DingTalk robot at Ningbo customs with a webhook fallback, and a national webhook."""
    fallback = create_channel(
        engine, "webhook", {"url": backup.url}, node_id="3100", matchers=ONLY_FALLBACK
    )
    create_channel(engine, "webhook", {"url": national.url}, group_wait_s=0, name="national")
    config = {"url": f"{receiver.url}/robot/send?access_token={TOKEN}", "secret": SECRET}
    return create_channel(
        engine, "dingtalk", config, node_id="3100", group_wait_s=0, fallback_channel_id=fallback
    )


def names(server: RecordingReceiver) -> list[str]:
    return [a.body["alerts"][0]["labels"]["alertname"] for a in server.accepted()]


def test_a_permanent_error_dead_letters_at_once_and_warns_through_fallback_and_meta_alert(
    engine, settings, receiver, backup, national, wired
):
    receiver.play(replies.DINGTALK_310000)
    emit(engine)

    first = dispatch_once(engine, settings, T0, policy=FAST)
    dispatch_once(engine, settings, T0 + timedelta(seconds=1), policy=FAST)

    assert first.dead == 1 and len(receiver.requests) == 1  # no retry of a permanent error
    [dead] = rows(engine, "SELECT * FROM notification WHERE state = 'dead'")
    assert dead["channel_id"] == wired and "310000" in dead["last_error"]
    assert names(backup) == ["BerthQueueHigh"]
    assert backup.accepted()[0].body["notification_reason"].startswith("fallback for channel")
    assert sorted(names(national)) == ["BerthQueueHigh", "QuayWatchDeliveryFailed"]
    meta = next(a for a in national.accepted() if a.body["alerts"][0]["labels"]["kind"] == "meta")
    assert meta.body["alerts"][0]["labels"]["channel_id"] == str(wired)
    assert TOKEN not in str(meta.body) and SECRET not in str(meta.body)


def test_the_meta_alert_resolves_when_the_channel_delivers_again(
    engine, settings, receiver, national, wired
):
    receiver.play(replies.DINGTALK_310000)
    emit(engine)
    dispatch_once(engine, settings, T0, policy=FAST)
    dispatch_once(engine, settings, T0 + timedelta(seconds=1), policy=FAST)

    emit(engine, alertname="ClearanceSlow")
    dispatch_once(engine, settings, T0 + timedelta(seconds=2), policy=FAST)
    dispatch_once(engine, settings, T0 + timedelta(minutes=6), policy=FAST)

    statuses = [
        (a.body["alerts"][0]["labels"]["alertname"], a.body["status"]) for a in national.accepted()
    ]
    assert ("QuayWatchDeliveryFailed", "resolved") in statuses
    assert rows(engine, "SELECT meta_firing FROM channel_state WHERE channel_id = :c", c=wired) == [
        {"meta_firing": False}
    ]


def test_retryable_failures_spend_the_retry_budget_then_dead_letter(
    engine, settings, receiver, backup, wired
):
    receiver.play(replies.HTTP_500, replies.HTTP_500, replies.HTTP_500)
    emit(engine)

    for second in range(4):
        dispatch_once(engine, settings, T0 + timedelta(seconds=second), policy=FAST)

    attempts = rows(engine, "SELECT status FROM delivery_attempt WHERE channel_id = :c", c=wired)
    assert [a["status"] for a in attempts] == ["retryable"] * 3
    assert rows(
        engine, "SELECT state, failures FROM notification WHERE channel_id = :c", c=wired
    ) == [{"state": "dead", "failures": 3}]
    assert names(backup) == ["BerthQueueHigh"]


def test_a_dead_letter_can_be_requeued_through_the_api(
    engine, settings, client, auth, receiver, wired
):
    receiver.play(replies.DINGTALK_310000)
    emit(engine)
    dispatch_once(engine, settings, T0, policy=FAST)
    [dead] = client.get("/api/v1/dead-letters", headers=auth).json["items"]

    response = client.post(f"/api/v1/dead-letters/{dead['notification_id']}/retry", headers=auth)
    dispatch_once(engine, settings, policy=FAST)  # requeued for the wall clock's now

    assert response.status_code == 202
    [requeued] = rows(
        engine,
        "SELECT state FROM notification WHERE notification_id = :n",
        n=dead["notification_id"],
    )
    # sent, or superseded by the group's repeat that the wall clock made due meanwhile
    assert requeued["state"] in ("sent", "superseded")
    assert len(receiver.requests) == 2
    assert client.get("/api/v1/dead-letters", headers=auth).json["items"] == []
