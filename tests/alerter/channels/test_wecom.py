from __future__ import annotations

import pytest
from pydantic import ValidationError

from alerter.channels.errors import DeliveryError, Outcome
from alerter.channels.wecom import WeCom
from tests.fakes import im_vendors as replies
from tests.fakes.channel_cases import CLIENT_TIMEOUT


def test_the_payload_is_markdown_content_with_the_title(make_channel, im_server, context):
    channel = make_channel("wecom")

    channel.send(channel.render(context), timeout=CLIENT_TIMEOUT)

    body = im_server.requests[0].json
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["content"].startswith(f"### {context['title']}\n")
    assert set(body) == {"msgtype", "markdown"}


@pytest.mark.parametrize(
    ("reply", "outcome", "retry_after"),
    [
        (replies.WECOM_45009, Outcome.RATE_LIMITED, 60.0),
        (replies.WECOM_93000, Outcome.PERMANENT, None),
        (
            replies.Reply(body={"errcode": 40058, "errmsg": "markdown.content exceed max length"}),
            Outcome.PERMANENT,
            None,
        ),
        (replies.Reply(body={"errcode": -1, "errmsg": "system busy"}), Outcome.RETRYABLE, None),
        (replies.GARBAGE, Outcome.RETRYABLE, None),
    ],
)
def test_errcodes_are_classified(reply, outcome, retry_after, refused):
    error = refused("wecom", reply)

    assert (error.outcome, error.retry_after) == (outcome, retry_after)


def test_content_over_4096_bytes_would_be_refused_by_the_vendor(make_channel, im_server, context):
    # What the split protects us from: the fake answers 40058 like WeCom does.
    channel = make_channel("wecom")
    payload = channel.render(context)[0]
    payload["markdown"]["content"] = "超" * 1366  # 4098 bytes

    with pytest.raises(DeliveryError, match="40058") as info:
        channel.send([payload], timeout=CLIENT_TIMEOUT)
    assert info.value.outcome is Outcome.PERMANENT


def test_the_url_must_carry_a_key():
    with pytest.raises(ValidationError, match="key="):
        WeCom({"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"})
