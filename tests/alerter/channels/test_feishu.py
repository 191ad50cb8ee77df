from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from pydantic import ValidationError

from alerter.channels.errors import DeliveryError, Outcome
from alerter.channels.feishu import BODY_LIMIT, Feishu, feishu_sign
from alerter.channels.message import build_context
from tests.fakes import im_vendors as replies
from tests.fakes.alert_groups import NOW, sample_group
from tests.fakes.channel_cases import CLIENT_TIMEOUT

KNOWN_SECRET = "SEC000000000000000000000"
KNOWN_TS = "1577808000"
KNOWN_SIGN = "LG0z5DOfU7w6QSXd/7JzvZRRBK0sN4G/OIzcXPFeON8="


def test_sign_uses_the_string_as_the_key_over_an_empty_message():
    key = f"{KNOWN_TS}\n{KNOWN_SECRET}".encode()
    expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()

    assert feishu_sign(KNOWN_SECRET, KNOWN_TS) == expected == KNOWN_SIGN


def test_timestamp_and_sign_travel_in_the_body_unencoded(make_channel, context):
    channel = make_channel("feishu", secret=KNOWN_SECRET, clock=lambda: int(KNOWN_TS) + 0.9)

    body = channel.sign(channel.render(context)[0]).body.decode()

    assert f'"timestamp":"{KNOWN_TS}","sign":"{KNOWN_SIGN}"' in body  # seconds, raw base64


def test_the_payload_is_an_interactive_card(make_channel, im_server, context):
    channel = make_channel("feishu", at_all=True)

    channel.send(channel.render(context), timeout=CLIENT_TIMEOUT)

    card = im_server.requests[0].json["card"]
    assert im_server.requests[0].json["msg_type"] == "interactive"
    assert card["header"] == {
        "title": {"tag": "plain_text", "content": context["title"]},
        "template": "red",
    }
    [element] = card["elements"]
    assert element["text"]["tag"] == "lark_md"
    assert element["text"]["content"].endswith("<at id=all></at>")


def test_a_resolved_card_is_green(make_channel):
    context = build_context(sample_group("resolved"), "en", now=NOW)

    payload = make_channel("feishu").render(context)[0]

    assert payload["card"]["header"]["template"] == "green"


@pytest.mark.parametrize(
    ("reply", "outcome", "code"),
    [
        (replies.FEISHU_11232, Outcome.RATE_LIMITED, "11232"),
        (replies.FEISHU_19021, Outcome.PERMANENT, "19021"),
        (replies.Reply(body={"code": 19022, "msg": "ip not allowed"}), Outcome.PERMANENT, "19022"),
        (replies.FEISHU_19024, Outcome.PERMANENT, "19024"),
        (replies.Reply(body={"code": 9499, "msg": "Bad Request"}), Outcome.PERMANENT, "9499"),
        (replies.HTTP_500, Outcome.RETRYABLE, "500"),
    ],
)
def test_codes_are_classified(reply, outcome, code, refused):
    error = refused("feishu", reply)

    assert (error.outcome, error.vendor_code) == (outcome, code)


def test_frequency_control_429_waits_for_the_reset_header(make_channel, im_server, context):
    im_server.play(
        replies.Reply(
            429,
            {"code": 99991400, "msg": "request trigger frequency limit"},
            {"x-ogw-ratelimit-reset": "12"},
        )
    )
    channel = make_channel("feishu")

    with pytest.raises(DeliveryError) as info:
        channel.send(channel.render(context), timeout=CLIENT_TIMEOUT)

    assert (info.value.outcome, info.value.retry_after) == (Outcome.RATE_LIMITED, 12.0)
    assert info.value.vendor_code == "99991400"


def test_the_byte_limit_is_the_whole_signed_body(make_channel, context):
    channel = make_channel("feishu")

    [payload] = channel.render(context)

    assert channel.byte_limit == BODY_LIMIT == 20 * 1024
    assert channel.payload_size(payload) == len(channel.sign(payload).body)


def test_the_url_must_be_a_bot_hook():
    with pytest.raises(ValidationError, match="hook"):
        Feishu({"url": "https://open.feishu.cn/open-apis/im/v1/messages"})
