from __future__ import annotations

import pytest

from alerter.channels.errors import DeliveryError, Outcome
from alerter.channels.message import AlertGroupView, build_context
from tests.fakes import im_vendors as replies
from tests.fakes.alert_groups import NOW, berth_alert
from tests.fakes.channel_cases import CLIENT_TIMEOUT


def test_the_payload_has_fallback_text_a_header_and_a_mrkdwn_section(
    make_channel, im_server, context
):
    channel = make_channel("slack")

    result = channel.send(channel.render(context), timeout=CLIENT_TIMEOUT)

    body = im_server.requests[0].json
    assert result.vendor_code == "ok"
    assert body["text"] == context["title"]
    header, section = body["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": context["title"]}}
    assert section["text"]["type"] == "mrkdwn"
    assert "*BerthQueueHigh*" in section["text"]["text"]  # Slack bold is *one* star


def test_mrkdwn_control_characters_are_escaped(make_channel):
    alert = berth_alert(name="B3 <gate> & yard")
    group = AlertGroupView("firing", "k", "r", {}, [alert])
    context = build_context(group, "en", now=NOW)

    [payload] = make_channel("slack").render(context)

    assert "B3 &lt;gate&gt; &amp; yard" in payload["blocks"][1]["text"]["text"]


def test_a_long_title_is_cut_to_the_header_limit(make_channel, context):
    payload = make_channel("slack").render({**context, "alertname": "告" * 200})[0]

    assert len(payload["blocks"][0]["text"]["text"]) == 150


@pytest.mark.parametrize(
    ("reply", "outcome", "code"),
    [
        (replies.Reply(404, "no_service"), Outcome.PERMANENT, "no_service"),
        (replies.Reply(403, "invalid_token"), Outcome.PERMANENT, "invalid_token"),
        (replies.Reply(410, "channel_is_archived"), Outcome.PERMANENT, "channel_is_archived"),
        (replies.Reply(400, "invalid_payload"), Outcome.PERMANENT, "invalid_payload"),
        (replies.HTTP_429, Outcome.RATE_LIMITED, "429"),
        (replies.Reply(200, "not ok"), Outcome.RETRYABLE, None),
    ],
)
def test_errors_are_classified(reply, outcome, code, refused):
    error = refused("slack", reply)

    assert (error.outcome, error.vendor_code) == (outcome, code)


def test_no_service_says_why(make_channel, im_server, context):
    im_server.play(replies.Reply(404, "no_service"))
    channel = make_channel("slack")

    with pytest.raises(DeliveryError, match="webhook was removed"):
        channel.send(channel.render(context), timeout=CLIENT_TIMEOUT)
