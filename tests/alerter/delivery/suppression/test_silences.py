from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from alerter.delivery import config_store
from alerter.delivery.dispatch import dispatch_once
from alerter.delivery.matchers import Matcher
from alerter.delivery.suppression.silences import MuteInterval, Silence, TimeInterval
from tests.alerter.helpers import FAST, T0, emit

BEILUN = ("CN", "3100", "3101", "3101-BEILUN")
SHANGHAI = ("CN", "2200", "2201", "2201-WGQ")


def silence(node_id: str = "3100", **labels: str) -> Silence:
    matchers = tuple(Matcher(name=k, value=v) for k, v in (labels or {"alertname": "A"}).items())
    return Silence(1, node_id, matchers, T0, T0 + timedelta(hours=1), "zhang", "crane works")


def test_a_silence_mutes_matching_alerts_only_within_its_window():
    quiet = silence(alertname="A")
    assert quiet.mutes({"alertname": "A"}, BEILUN, T0)
    assert not quiet.mutes({"alertname": "B"}, BEILUN, T0)
    assert not quiet.mutes({"alertname": "A"}, BEILUN, T0 - timedelta(seconds=1))
    assert not quiet.mutes({"alertname": "A"}, BEILUN, T0 + timedelta(hours=1))


def test_a_silence_mutes_only_alerts_of_its_own_subtree():
    assert not silence("3100").mutes({"alertname": "A"}, SHANGHAI, T0)
    assert silence("CN").mutes({"alertname": "A"}, SHANGHAI, T0)


def test_regex_matchers_match_the_whole_value_as_in_alertmanager():
    matcher = Matcher(name="site", op="=~", value="3101-.*")
    assert matcher.matches({"site": "3101-BEILUN"})
    assert not matcher.matches({"site": "X3101-BEILUN"})
    assert Matcher(name="team", op="!=", value="").matches({"team": "ops"})
    with pytest.raises(ValidationError):
        Matcher(name="site", op="=~", value="(")


def shanghai(hour: int, minute: int = 0, day: int = 24) -> datetime:
    """A moment given in Asia/Shanghai (UTC+8); 2026-08-24 is a Monday."""
    return datetime(2026, 8, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


def interval(**fields: object) -> MuteInterval:
    return MuteInterval(1, "m", (TimeInterval.model_validate(fields),))


def test_a_mute_interval_is_evaluated_in_asia_shanghai_by_default():
    office_hours = interval(times=[{"start_time": "09:00", "end_time": "17:00"}])
    assert office_hours.active(shanghai(9, 0))
    assert not office_hours.active(shanghai(17, 0))
    assert not office_hours.active(shanghai(8, 59))


def test_a_time_range_may_wrap_midnight():
    night = interval(times=[{"start_time": "22:00", "end_time": "06:00"}])
    assert night.active(shanghai(23, 30)) and night.active(shanghai(5, 59))
    assert not night.active(shanghai(6, 0)) and not night.active(shanghai(12, 0))


def test_weekdays_days_of_month_and_months_combine():
    weekend = interval(weekdays=["saturday:sunday"])
    assert weekend.active(shanghai(12, day=29)) and not weekend.active(shanghai(12, day=24))
    month_end = interval(days_of_month=["-1"], months=["august"])
    assert month_end.active(shanghai(12, day=31)) and not month_end.active(shanghai(12, day=30))


def test_an_unknown_weekday_or_a_bad_time_is_refused():
    with pytest.raises(ValidationError):
        TimeInterval.model_validate({"weekdays": ["funday"]})
    with pytest.raises(ValidationError):
        TimeInterval.model_validate({"times": [{"start_time": "25:00", "end_time": "26:00"}]})


def add_silence(engine, ends: datetime, **labels: str) -> None:
    matchers = [{"name": k, "op": "=", "value": v} for k, v in labels.items()]
    values = {
        "node_id": "3100",
        "matchers": matchers,
        "starts_at": T0,
        "ends_at": ends,
        "comment": "c",
    }
    with engine.begin() as conn:
        config_store.create_silence(conn, values, "zhang")


def test_a_silenced_alert_is_not_sent_and_is_announced_once_the_silence_ends(
    engine, settings, receiver, webhook_channel
):
    webhook_channel(group_wait_s=0, group_by=["..."])
    add_silence(engine, T0 + timedelta(minutes=20), site="3101-BEILUN")
    emit(engine, node_id="3101-BEILUN")
    emit(engine, node_id="3101-DAXIE")

    dispatch_once(engine, settings, T0, policy=FAST)
    assert [r.json["alerts"][0]["labels"]["site"] for r in receiver.requests] == ["3101-DAXIE"]

    for minutes in (5, 10, 15, 20):
        dispatch_once(engine, settings, T0 + timedelta(minutes=minutes), policy=FAST)

    assert [r.json["alerts"][0]["labels"]["site"] for r in receiver.requests] == [
        "3101-DAXIE",
        "3101-BEILUN",
    ]


def test_a_channel_in_its_mute_interval_sends_later_what_happened_meanwhile(
    engine, settings, receiver, webhook_channel
):
    with engine.begin() as conn:
        mute_id = config_store.create_mute_interval(
            conn,
            {
                "node_id": "CN",
                "name": "night",
                "time_zone": "Asia/Shanghai",
                "intervals": [{"times": [{"start_time": "22:00", "end_time": "06:00"}]}],
            },
        )
    channel_id = webhook_channel(group_wait_s=0)
    with engine.begin() as conn:
        config_store.set_channel_mutes(conn, channel_id, [mute_id])
    night = shanghai(23)
    emit(engine, starts_at=night)

    dispatch_once(engine, settings, night, policy=FAST)
    assert receiver.requests == []
    dispatch_once(engine, settings, shanghai(6, 1, day=25), policy=FAST)

    [request] = receiver.requests
    assert request.json["alerts"][0]["status"] == "firing"
    assert json.loads(request.body)["notification_reason"] == "first notification"
