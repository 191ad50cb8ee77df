"""An acknowledgement holds back repeat notifications, against a real receiver: none while
the ack holds, the repeat again once it is withdrawn or expires; news still goes out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alert_rules import add_rule, put_value, threshold_spec

from alerter.delivery.dispatch import dispatch_once
from alerter.evaluation.step import evaluate_all
from conftest import make_token
from tests.alerter.helpers import FAST, delivered

CLEARANCE = "clearance_time_p90_hours"


@pytest.fixture
def announced(engine, settings, webhook_channel, receiver):
    """Shekou's alert is firing and was announced once; repeats are due every minute."""
    now = datetime.now(UTC)
    add_rule(engine, threshold_spec())
    put_value(engine, "5304-SHEKOU", CLEARANCE, 50, now)
    evaluate_all(engine, settings, now)
    webhook_channel(group_wait_s=0, group_interval_s=1, repeat_interval_s=60)
    dispatch_once(engine, settings, now, policy=FAST)
    assert [m["notification_reason"] for m in delivered(receiver)] == ["first notification"]
    return now


def _operator(engine):
    return {"Authorization": f"Bearer {make_token(engine, 'operator', '5300')}"}


def _fingerprint(receiver):
    return delivered(receiver)[0]["alerts"][0]["quaywatchFingerprint"]


def test_no_repeat_is_sent_while_acked_and_the_repeat_returns_after_un_ack(
    client, engine, settings, receiver, announced
):
    headers = _operator(engine)
    ack = f"/api/v1/alerts/{_fingerprint(receiver)}/ack"
    assert client.post(ack, json={"duration": "2h"}, headers=headers).status_code == 200

    dispatch_once(engine, settings, announced + timedelta(seconds=61), policy=FAST)
    dispatch_once(engine, settings, announced + timedelta(seconds=90), policy=FAST)
    assert len(delivered(receiver)) == 1

    assert client.delete(ack, headers=headers).status_code == 200
    dispatch_once(engine, settings, announced + timedelta(seconds=95), policy=FAST)
    reasons = [m["notification_reason"] for m in delivered(receiver)]
    assert reasons == ["first notification", "repeat interval elapsed"]


def test_the_repeat_returns_when_the_ack_expires(client, engine, settings, receiver, announced):
    ack = f"/api/v1/alerts/{_fingerprint(receiver)}/ack"
    client.post(ack, json={"duration": "10m"}, headers=_operator(engine))

    dispatch_once(engine, settings, announced + timedelta(minutes=5), policy=FAST)
    assert len(delivered(receiver)) == 1
    dispatch_once(engine, settings, announced + timedelta(minutes=11), policy=FAST)
    assert [m["notification_reason"] for m in delivered(receiver)][-1] == (
        "repeat interval elapsed"
    )
