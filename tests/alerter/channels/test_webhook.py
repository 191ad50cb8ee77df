from __future__ import annotations

import hashlib
import hmac

import pytest

from alerter.channels.errors import DeliveryError, Outcome
from alerter.channels.message import AlertGroupView, AlertView, build_context
from alerter.channels.message import fingerprint as label_fingerprint
from alerter.channels.webhook import ZERO_TIME, Webhook
from tests.fakes import im_vendors as replies
from tests.fakes.alert_groups import GROUP_KEY, NOW, berth_alert, sample_group
from tests.fakes.channel_cases import CLIENT_TIMEOUT, SECRET, TOKEN
from tests.fakes.im_server import ImServer

V4_FIELDS = {
    "version",
    "groupKey",
    "truncatedAlerts",
    "status",
    "receiver",
    "notification_reason",
    "groupLabels",
    "commonLabels",
    "commonAnnotations",
    "externalURL",
    "alerts",
}
ALERT_FIELDS = {
    "status",
    "labels",
    "annotations",
    "startsAt",
    "endsAt",
    "generatorURL",
    "fingerprint",
    "quaywatchFingerprint",
}


def test_the_body_is_an_alertmanager_v4_message(make_channel, im_server, context):
    channel = make_channel("webhook")

    channel.send(channel.render(context), timeout=CLIENT_TIMEOUT)

    body = im_server.requests[0].json
    assert set(body) == V4_FIELDS
    assert (body["version"], body["groupKey"], body["status"]) == ("4", GROUP_KEY, "firing")
    assert body["truncatedAlerts"] == 0
    assert body["externalURL"] == "https://quaywatch.example"
    [alert] = body["alerts"]
    assert set(alert) == ALERT_FIELDS
    assert alert["endsAt"] == ZERO_TIME  # what Alertmanager sends for a firing alert
    assert alert["startsAt"] == "2026-08-22T02:54:05.123Z"
    assert alert["labels"]["site_name"] == "宁波港 B3"  # UTF-8, not \u escapes
    assert "宁波港".encode() in im_server.requests[0].body


def test_a_resolved_alert_carries_its_end(make_channel):
    context = build_context(sample_group("resolved"), "zh", now=NOW)

    [payload] = make_channel("webhook").render(context)

    assert payload["status"] == "resolved"
    assert payload["alerts"][0]["endsAt"] == "2026-08-22T03:04:05.123Z"


def test_max_alerts_truncates_and_counts_the_rest(make_channel):
    alerts = [berth_alert(f"S{i}", f"站点{i}") for i in range(3)]
    context = build_context(AlertGroupView("firing", "k", "r", {}, alerts), "zh", now=NOW)

    [payload] = make_channel("webhook", max_alerts=1).render(context)

    assert (len(payload["alerts"]), payload["truncatedAlerts"]) == (1, 2)


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body(make_channel, im_server, context):
    channel = make_channel("webhook", clock=lambda: 1724300000.5)

    out = channel.sign(channel.render(context)[0])

    expected = hmac.new(SECRET.encode(), b"1724300000." + out.body, hashlib.sha256).hexdigest()
    assert out.headers["X-QuayWatch-Timestamp"] == "1724300000"
    assert out.headers["X-QuayWatch-Signature"] == f"sha256={expected}"


def test_without_a_secret_nothing_is_signed(context):
    with ImServer(TOKEN, secret=None) as server:
        channel = Webhook({"url": f"{server.url}/hook", "allow_private": True})
        channel.send(channel.render(context), timeout=CLIENT_TIMEOUT)

        assert "X-QuayWatch-Signature" not in server.requests[0].headers
        assert server.requests[0].verdict == "ok"


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (400, Outcome.PERMANENT),
        (404, Outcome.PERMANENT),
        (408, Outcome.RETRYABLE),
        (502, Outcome.RETRYABLE),
        (503, Outcome.RETRYABLE),
        (429, Outcome.RATE_LIMITED),
    ],
)
def test_http_status_decides(status, outcome, make_channel, im_server, context):
    im_server.play(replies.Reply(status, "nope"))
    channel = make_channel("webhook")

    with pytest.raises(DeliveryError) as info:
        channel.send(channel.render(context), timeout=CLIENT_TIMEOUT)

    assert (info.value.outcome, info.value.vendor_code) == (outcome, str(status))


def test_a_redirect_on_the_same_host_is_followed(make_channel, im_server, context):
    im_server.play(replies.Reply(307, "", {"Location": "/quaywatch/moved"}))
    channel = make_channel("webhook")

    channel.send(channel.render(context), timeout=CLIENT_TIMEOUT)

    assert [r.path for r in im_server.requests] == ["/quaywatch/hook", "/quaywatch/moved"]
    assert im_server.requests[1].verdict == "ok"  # body and signature went along


def test_a_redirect_to_another_host_is_refused(make_channel, im_server, context):
    other = im_server.url.replace("127.0.0.1", "localhost")
    im_server.play(replies.Reply(308, "", {"Location": f"{other}/elsewhere"}))
    channel = make_channel("webhook")

    with pytest.raises(DeliveryError, match="another host") as info:
        channel.send(channel.render(context), timeout=CLIENT_TIMEOUT)

    assert info.value.outcome is Outcome.PERMANENT
    assert len(im_server.requests) == 1


def test_a_redirect_that_would_turn_post_into_get_is_not_followed(make_channel, im_server, context):
    im_server.play(replies.Reply(302, "", {"Location": "/quaywatch/moved"}))
    channel = make_channel("webhook")

    with pytest.raises(DeliveryError, match="redirect not followed") as info:
        channel.send(channel.render(context), timeout=CLIENT_TIMEOUT)

    assert info.value.outcome is Outcome.PERMANENT


def test_the_fingerprint_is_alertmanagers_label_set_fingerprint_and_ours_is_kept(make_channel):
    alert = AlertView("firing", {"alertname": "A", "site": "宁波"}, NOW, fingerprint="f" * 32)
    context = build_context(AlertGroupView("firing", "k", "r", {}, [alert]), "en", now=NOW)

    [payload] = make_channel("webhook").render(context)

    [sent] = payload["alerts"]
    assert sent["fingerprint"] == label_fingerprint({"alertname": "A", "site": "宁波"})
    assert len(sent["fingerprint"]) == 16
    assert sent["quaywatchFingerprint"] == "f" * 32


def test_common_labels_annotations_and_status_describe_only_the_alerts_sent(make_channel):
    resolved = AlertView(
        "resolved", {"alertname": "A", "site": "S0", "team": "x"}, NOW, {"summary": "s"}, NOW
    )
    firing = AlertView("firing", {"alertname": "A", "site": "S1"}, NOW, {"summary": "t"})
    group = AlertGroupView("firing", "k", "r", {"alertname": "A"}, [resolved, firing])
    context = build_context(group, "en", now=NOW)

    [payload] = make_channel("webhook", max_alerts=1).render(context)

    assert payload["status"] == "resolved"  # as Alertmanager: computed after truncation
    assert payload["commonLabels"] == {"alertname": "A", "site": "S0", "team": "x"}
    assert payload["commonAnnotations"] == {"summary": "s"}
