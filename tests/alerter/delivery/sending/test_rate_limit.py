from __future__ import annotations

from datetime import timedelta

import pytest

from alerter.delivery.dispatch import dispatch_once
from tests.alerter.helpers import FAST, SECRET, T0, TOKEN, create_channel, emit, rows
from tests.fakes import im_vendors as replies
from tests.fakes.recording_receiver import RecordingReceiver


@pytest.fixture
def limited():
    with RecordingReceiver(per_minute=10) as server:
        yield server


def burst(engine, count: int) -> set[str]:
    return {emit(engine, berth=f"B{i}") for i in range(count)}


def test_overflow_beyond_the_bots_rate_is_folded_into_one_digest_and_nothing_is_dropped(
    engine, settings, limited
):
    create_channel(
        engine,
        "webhook",
        {"url": limited.url},
        group_wait_s=0,
        group_by=["..."],
        rate_per_minute=10,
    )
    fingerprints = burst(engine, 25)

    result = dispatch_once(engine, settings, T0, policy=FAST)

    assert (result.sent, result.folded) == (10, 16)
    arrivals = limited.accepted()
    assert len(arrivals) == 10 and len(limited.arrivals) == 10  # no 429: we kept to the rate
    assert {fp for a in arrivals for fp in a.fingerprints} == fingerprints
    digest = rows(
        engine, "SELECT content->>'reason' AS reason FROM notification WHERE kind = 'digest'"
    )
    assert digest == [{"reason": "digest of 16 notifications (rate limit 10/min)"}]
    folded = rows(engine, "SELECT count(*) AS n FROM notification WHERE state = 'folded'")
    assert folded == [{"n": 16}]


def test_a_receiver_stricter_than_configured_is_obeyed_through_its_retry_after(
    engine, settings, limited
):
    create_channel(engine, "webhook", {"url": limited.url}, group_wait_s=0, group_by=["..."])
    fingerprints = burst(engine, 14)

    first = dispatch_once(engine, settings, T0, policy=FAST)
    assert first.sent == 10
    throttled = rows(
        engine, "SELECT vendor_code FROM delivery_attempt WHERE status = 'rate_limited'"
    )
    # Parallel senders of an unlimited bot stop at the first 429; those already in flight
    # get one each, so at most one per sender.
    assert 1 <= len(throttled) <= FAST.workers and {t["vendor_code"] for t in throttled} == {"429"}
    asked = len(limited.arrivals)
    assert dispatch_once(engine, settings, T0 + timedelta(seconds=30), policy=FAST).sent == 0
    assert len(limited.arrivals) == asked  # Retry-After (60 s) is honoured: no request at all

    limited.per_minute = None  # the receiver's minute has passed
    dispatch_once(engine, settings, T0 + timedelta(seconds=61), policy=FAST)

    assert {fp for a in limited.accepted() for fp in a.fingerprints} == fingerprints


def test_a_dingtalk_ban_holds_every_channel_on_that_robot_for_ten_minutes(
    engine, settings, receiver
):
    config = {"url": f"{receiver.url}/robot/send?access_token={TOKEN}", "secret": SECRET}
    create_channel(engine, "dingtalk", config, group_wait_s=0, node_id="3100")
    create_channel(engine, "dingtalk", config, group_wait_s=0, node_id="3101")
    receiver.play(replies.DINGTALK_130101)
    emit(engine)

    dispatch_once(engine, settings, T0, policy=FAST)
    blocked = [r["blocked_until"] - T0 for r in rows(engine, "SELECT * FROM channel_state")]
    assert len(blocked) == 2
    assert all(timedelta(seconds=600) <= b < timedelta(seconds=601) for b in blocked)
    assert len(receiver.requests) == 1  # the second channel was held back too

    assert dispatch_once(engine, settings, T0 + timedelta(seconds=599), policy=FAST).sent == 0
    assert dispatch_once(engine, settings, T0 + timedelta(seconds=602), policy=FAST).sent == 2
