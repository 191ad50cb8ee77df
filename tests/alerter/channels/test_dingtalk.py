from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote_plus, urlsplit

import pytest
from pydantic import ValidationError

from alerter.channels.dingtalk import DingTalk, dingtalk_sign
from alerter.channels.errors import DeliveryError, Outcome
from tests.fakes import im_vendors as replies
from tests.fakes.channel_cases import CLIENT_TIMEOUT, SECRET

KNOWN_SECRET = "SEC000000000000000000000"
KNOWN_TS = "1577808000004"
# Computed once from the documented steps below; pins the value against regressions.
KNOWN_SIGN = "FmV+xx0qJOyQVrUYpBIHh8/tE6veN1VNTAg4StT5Yk4="


def test_sign_follows_the_documented_steps():
    # "把timestamp+"\n"+密钥当做签名字符串，使用HmacSHA256算法计算签名，然后进行Base64 encode"
    string_to_sign = f"{KNOWN_TS}\n{KNOWN_SECRET}".encode()
    digest = hmac.new(KNOWN_SECRET.encode(), string_to_sign, hashlib.sha256).digest()

    assert dingtalk_sign(KNOWN_SECRET, KNOWN_TS) == base64.b64encode(digest).decode()
    assert dingtalk_sign(KNOWN_SECRET, KNOWN_TS) == KNOWN_SIGN


def test_the_sign_is_url_encoded_exactly_once(make_channel, context):
    channel = make_channel("dingtalk", secret=KNOWN_SECRET, clock=lambda: int(KNOWN_TS) / 1000)

    query = urlsplit(channel.sign(channel.render(context)[0]).url).query

    assert f"timestamp={KNOWN_TS}" in query
    assert f"sign={quote_plus(KNOWN_SIGN)}" in query  # "+" -> %2B, "/" -> %2F, "=" -> %3D
    assert "%25" not in query  # a double-encoded "%" is the classic 310000 "sign not match"


def test_the_payload_is_markdown_with_title_text_and_mentions(make_channel, im_server, context):
    channel = make_channel("dingtalk", at_mobiles=["13800000000"])

    channel.send(channel.render(context), timeout=CLIENT_TIMEOUT)

    body = im_server.requests[0].json
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == context["title"]
    assert body["markdown"]["text"].startswith(f"#### {context['title']}\n")
    assert "@13800000000" in body["markdown"]["text"]  # a mention needs the text and atMobiles
    assert body["at"] == {"atMobiles": ["13800000000"], "isAtAll": False}


def test_without_a_secret_the_url_is_not_signed(make_channel, context):
    channel = make_channel("dingtalk", secret=None)

    url = channel.sign(channel.render(context)[0]).url

    assert "sign=" not in url and "timestamp=" not in url


def test_an_unsigned_request_to_a_signing_robot_is_refused(make_channel, im_server, context):
    channel = make_channel("dingtalk", secret=None)

    with pytest.raises(DeliveryError) as info:
        channel.send(channel.render(context), timeout=CLIENT_TIMEOUT)

    assert (info.value.outcome, info.value.vendor_code) == (Outcome.PERMANENT, "310000")


@pytest.mark.parametrize(
    ("reply", "outcome", "retry_after"),
    [
        (replies.DINGTALK_130101, Outcome.RATE_LIMITED, 600.0),  # then a 10-minute ban
        (
            replies.Reply(body={"errcode": 90030, "errmsg": "webhook over limit"}),
            Outcome.RATE_LIMITED,
            None,
        ),
        (replies.DINGTALK_310000, Outcome.PERMANENT, None),
        (
            replies.Reply(body={"errcode": 300001, "errmsg": "token is not exist"}),
            Outcome.PERMANENT,
            None,
        ),
        (replies.DINGTALK_SYSTEM_BUSY, Outcome.RETRYABLE, None),
        (replies.Reply(body={"errcode": 88888, "errmsg": "新的错误"}), Outcome.PERMANENT, None),
        (replies.Reply(body={"errmsg": "no code"}), Outcome.RETRYABLE, None),
    ],
)
def test_errcodes_are_classified(reply, outcome, retry_after, refused):
    error = refused("dingtalk", reply)

    assert (error.outcome, error.retry_after) == (outcome, retry_after)


def test_the_errmsg_is_kept_in_the_error(make_channel, im_server, context):
    im_server.play(replies.DINGTALK_310000)
    channel = make_channel("dingtalk")

    with pytest.raises(DeliveryError, match="310000: keywords not in content"):
        channel.send(channel.render(context), timeout=CLIENT_TIMEOUT)


def test_the_url_must_carry_an_access_token():
    with pytest.raises(ValidationError, match="access_token"):
        DingTalk({"url": "https://oapi.dingtalk.com/robot/send", "secret": SECRET})
