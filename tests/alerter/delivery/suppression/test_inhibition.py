from __future__ import annotations

from datetime import timedelta

from alerter.delivery.dispatch import dispatch_once
from alerter.delivery.suppression.inhibition import Source, inhibited_by
from tests.alerter.helpers import FAST, T0, emit


def test_a_no_data_alert_mutes_threshold_and_forecast_alerts_of_its_node_only():
    source = Source("nd", {"alertname": "SiteSilent", "kind": "no_data", "node": "3101-BEILUN"})

    assert inhibited_by("t", {"kind": "threshold", "node": "3101-BEILUN"}, [source]) == ["nd"]
    assert inhibited_by("f", {"kind": "forecast", "node": "3101-BEILUN"}, [source]) == ["nd"]
    assert inhibited_by("d", {"kind": "deadline", "node": "3101-BEILUN"}, [source]) == []
    assert inhibited_by("o", {"kind": "threshold", "node": "3101-DAXIE"}, [source]) == []


def test_a_source_without_the_equal_label_inhibits_nothing():
    source = Source("nd", {"kind": "no_data"})
    assert inhibited_by("t", {"kind": "threshold"}, [source]) == []


def test_a_site_that_stops_reporting_mutes_its_threshold_alerts_until_it_reports_again(
    engine, settings, receiver, webhook_channel
):
    webhook_channel(group_wait_s=0, group_by=["..."])
    emit(engine, alertname="SiteSilent", kind="no_data")
    emit(engine, alertname="BerthQueueHigh", kind="threshold")
    emit(engine, alertname="BerthQueueHigh", kind="threshold", node_id="3101-DAXIE")

    dispatch_once(engine, settings, T0, policy=FAST)
    names = sorted(
        (r.json["alerts"][0]["labels"]["alertname"], r.json["alerts"][0]["labels"]["site"])
        for r in receiver.requests
    )
    assert names == [("BerthQueueHigh", "3101-DAXIE"), ("SiteSilent", "3101-BEILUN")]

    emit(engine, "resolved", alertname="SiteSilent", kind="no_data")
    dispatch_once(engine, settings, T0 + timedelta(minutes=1), policy=FAST)
    dispatch_once(engine, settings, T0 + timedelta(minutes=5), policy=FAST)

    later = [
        (r.json["alerts"][0]["labels"]["alertname"], r.json["status"])
        for r in receiver.requests[2:]
    ]
    assert sorted(later) == [("BerthQueueHigh", "firing"), ("SiteSilent", "resolved")]
