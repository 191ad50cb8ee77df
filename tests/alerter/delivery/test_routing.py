from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerter.delivery.dispatch import dispatch_once
from alerter.delivery.matchers import Matcher
from alerter.delivery.routing import ChannelRoute, RoutableAlert, routes_for, routing_labels
from tests.alerter.helpers import FAST, T0, create_channel, emit, rows

PATH = ["CN", "3100", "3101", "3101-BEILUN"]


def alert(**labels: str) -> RoutableAlert:
    return RoutableAlert(
        fingerprint="f",
        status="firing",
        labels=routing_labels(labels, "critical", "3101-BEILUN", "process_timeliness"),
        annotations={},
        starts_at=datetime(2026, 8, 22, tzinfo=UTC),
        node_id="3101-BEILUN",
        node_path=PATH,
        seq=1,
    )


def channel(channel_id: int, node_id: str, *matchers: Matcher) -> ChannelRoute:
    return ChannelRoute(channel_id, node_id, f"c{channel_id}", tuple(matchers))


def test_an_alert_goes_to_its_nodes_and_its_ancestors_channels_nearest_first():
    routes = [channel(1, "CN"), channel(2, "3100"), channel(3, "3101-BEILUN"), channel(4, "2200")]

    assert [c.channel_id for c in routes_for(alert(), routes)] == [3, 2, 1]


def test_a_sibling_or_a_descendant_never_receives_an_alert_of_its_parent():
    upper = RoutableAlert("f", "firing", {}, {}, T0, "3100", ["CN", "3100"], 1)
    routes = [channel(1, "3101"), channel(2, "3101-BEILUN"), channel(3, "3102")]

    assert routes_for(upper, routes) == []


def test_matchers_on_severity_theme_and_labels_filter_each_level():
    critical = Matcher(name="severity", value="critical")
    hazardous = Matcher(name="theme", value="hazardous_goods")
    not_test = Matcher(name="env", op="!=", value="test")
    ningbo = Matcher(name="site", op="=~", value="3101-.*")
    routes = [
        channel(1, "CN", critical, ningbo),
        channel(2, "3100", hazardous),
        channel(3, "3101", not_test),
    ]

    assert [c.channel_id for c in routes_for(alert(site="3101-BEILUN"), routes)] == [3, 1]
    assert [c.channel_id for c in routes_for(alert(env="test"), routes)] == []


def test_derived_labels_do_not_override_the_rules_own():
    labels = routing_labels({"severity": "warning"}, "critical", "3101", None)
    assert labels == {"severity": "warning", "node": "3101"}


def test_theme_comes_from_the_indicator_catalogue_when_the_rule_does_not_say(
    engine, settings, receiver
):
    url = f"{receiver.url}/quaywatch/hook"
    matcher = [{"name": "theme", "op": "=", "value": "hazardous_goods"}]
    create_channel(
        engine, "webhook", {"url": url}, node_id="3100", group_wait_s=0, matchers=matcher
    )
    with engine.connect() as conn:
        code = conn.exec_driver_sql(
            "SELECT code FROM indicator WHERE theme = 'hazardous_goods' LIMIT 1"
        ).scalar_one()
    emit(engine, indicator=code, berth="B1")
    emit(engine, kind="deadline", alertname="LotNearDeadline")
    emit(engine, alertname="ClearanceSlow", berth="B2")

    dispatch_once(engine, settings, T0 + timedelta(seconds=1), policy=FAST)

    sent = [r.json["alerts"][0]["labels"]["alertname"] for r in receiver.requests]
    assert sorted(sent) == ["BerthQueueHigh", "LotNearDeadline"]
    assert rows(engine, "SELECT count(*) AS n FROM alert_event WHERE processed_at IS NULL") == [
        {"n": 0}
    ]


def test_a_resolve_reaches_the_group_that_heard_the_firing_even_after_its_matchers_changed(
    engine, settings, receiver, webhook_channel
):
    channel_id = webhook_channel(group_wait_s=0, group_interval_s=60)
    emit(engine)
    dispatch_once(engine, settings, T0, policy=FAST)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            'UPDATE channel SET matchers = \'[{"name": "team", "op": "=", "value": "x"}]\','
            f" group_by = '{{site}}' WHERE channel_id = {channel_id}"
        )
    emit(engine, "resolved")

    dispatch_once(engine, settings, T0 + timedelta(seconds=61), policy=FAST)

    assert [r.json["status"] for r in receiver.requests] == ["firing", "resolved"]


def test_alertmanager_channels_push_firing_alerts_again_every_minute():
    row = {
        "channel_id": 1, "node_id": "CN", "name": "am", "matchers": [], "group_by": ["alertname"],
        "group_wait_s": 30, "group_interval_s": 300, "repeat_interval_s": 14400,
        "send_resolved": True,
    }  # fmt: skip

    assert ChannelRoute.from_row({**row, "kind": "alertmanager"}).timing.repeat_interval == 60
    assert ChannelRoute.from_row({**row, "kind": "dingtalk"}).timing.repeat_interval == 14400
