"""The same cases for every channel kind (STYLE.md G10), against the fake vendor server.

Each channel makes one attempt per payload and raises; retries belong to the dispatcher.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from alerter.channels.base import Channel
from alerter.channels.errors import DeliveryError, Outcome
from alerter.channels.message import build_context
from quaywatch.log import RedactingFilter
from tests.fakes import im_vendors as replies
from tests.fakes.alert_groups import NOW, long_chinese_group
from tests.fakes.channel_cases import (
    CASES,
    CLIENT_TIMEOUT,
    SECRET,
    SPLITTING_KINDS,
    TOKEN,
    WRONG_SECRET,
    WRONG_TOKEN,
    KindCase,
)
from tests.fakes.im_server import ImServer

SIGNED_KINDS = [k for k, c in CASES.items() if c.signature is not None]
ERROR_CODE_KINDS = [k for k, c in CASES.items() if c.error_code is not None]


def send(channel: Channel, context: dict[str, Any]) -> DeliveryError:
    with pytest.raises(DeliveryError) as info:
        channel.send(channel.render(context), timeout=CLIENT_TIMEOUT)
    return info.value


def wrong_credential(case: KindCase) -> dict[str, str]:
    """A wrong signing secret where the vendor checks signatures, else a wrong token."""
    return {"secret": WRONG_SECRET} if case.signature else {"token": WRONG_TOKEN}


def test_it_sends_a_payload_the_vendor_accepts(case, channel, im_server, context):
    result = channel.send(channel.render(context), timeout=CLIENT_TIMEOUT)

    [received] = im_server.requests
    assert (received.vendor, received.verdict) == (case.kind, "ok")
    assert result.vendor_code == case.success_code
    assert result.latency_ms >= 0
    text = received.body.decode()
    assert "BerthQueueHigh" in text
    assert "宁波港 B3" in text


def test_the_vendor_accepts_the_signature(case, channel, im_server, context):
    channel.send(channel.render(context), timeout=CLIENT_TIMEOUT)

    [received] = im_server.requests
    assert received.verdict == "ok"
    if case.signature is not None:
        assert case.signature(received)


def test_a_wrong_secret_or_token_is_a_permanent_error(case, make_channel, im_server, context):
    channel = make_channel(case.kind, **wrong_credential(case))

    error = send(channel, context)

    assert error.outcome is Outcome.PERMANENT
    assert im_server.requests[0].verdict in {"bad signature", "wrong token"}


@pytest.mark.parametrize("kind", SIGNED_KINDS)
def test_a_signature_older_than_an_hour_is_refused(kind, make_channel, im_server, context):
    channel = make_channel(kind, clock=lambda: time.time() - 2 * 3600)

    error = send(channel, context)

    assert error.outcome is Outcome.PERMANENT
    assert im_server.requests[0].verdict in {"stale timestamp", "bad signature"}


def test_http_500_is_retryable_and_tried_once(channel, im_server, context):
    im_server.play(replies.HTTP_500)

    error = send(channel, context)

    assert error.outcome is Outcome.RETRYABLE
    assert len(im_server.requests) == 1  # the dispatcher retries, with backoff, not the channel


def test_the_vendor_rate_limit_is_rate_limited_with_its_wait(case, channel, im_server, context):
    im_server.play(case.rate_limit)

    error = send(channel, context)

    assert error.outcome is Outcome.RATE_LIMITED
    assert error.retry_after == case.retry_after


@pytest.mark.parametrize("kind", ERROR_CODE_KINDS)
def test_http_200_with_an_error_code_is_a_failure(kind, make_channel, im_server, context):
    im_server.play(CASES[kind].error_code)

    error = send(make_channel(kind), context)

    assert error.outcome is Outcome.PERMANENT
    assert error.vendor_code not in (None, "0")


def test_an_unreadable_answer_is_retryable_where_the_body_matters(
    case, channel, im_server, context
):
    im_server.play(replies.GARBAGE)

    if case.garbage_ok:  # webhook and Alertmanager: any 2xx is delivered
        channel.send(channel.render(context), timeout=CLIENT_TIMEOUT)
    else:
        assert send(channel, context).outcome is Outcome.RETRYABLE


def test_a_timeout_is_retryable(channel, im_server, context):
    im_server.play(replies.TIMEOUT)
    started = time.monotonic()

    error = send(channel, context)

    assert error.outcome is Outcome.RETRYABLE
    assert time.monotonic() - started < replies.TIMEOUT.delay


def test_a_refused_connection_is_retryable(channel, im_server, context):
    im_server.stop()

    assert send(channel, context).outcome is Outcome.RETRYABLE


def test_the_default_refuses_a_loopback_address(case, make_channel, im_server, context):
    channel = make_channel(case.kind, allow_private=False)

    error = send(channel, context)

    assert error.outcome is Outcome.PERMANENT
    assert "refusing" in error.message
    assert im_server.requests == []


FAILURES: dict[str, Callable[[KindCase, ImServer], dict[str, Any]]] = {
    "wrong credential": lambda case, server: wrong_credential(case),
    "http 500": lambda case, server: server.play(replies.HTTP_500) or {},
    "http 429": lambda case, server: server.play(case.rate_limit) or {},
    "garbage": lambda case, server: server.play(replies.GARBAGE) or {},
    "timeout": lambda case, server: server.play(replies.TIMEOUT) or {},
    "refused": lambda case, server: server.stop() or {},
    "private": lambda case, server: {"allow_private": False},
}


def leaked(text: str, im_server: ImServer) -> list[str]:
    """Secrets found in ``text``: tokens, secrets and the signatures the fake received."""
    signatures = [r.query.get("sign") for r in im_server.requests] + [
        r.headers.get("X-QuayWatch-Signature") for r in im_server.requests
    ]
    secrets = [TOKEN, SECRET, WRONG_TOKEN, WRONG_SECRET, *filter(None, signatures)]
    return [s for s in secrets if s in text]


@pytest.mark.parametrize("failure", FAILURES)
def test_no_secret_leaks_into_the_error_or_the_log(
    failure, case, make_channel, im_server, context, caplog
):
    # Alertmanager's AssertNotifyLeaksNoSecret: force a failure, look for the secret.
    caplog.set_level(logging.DEBUG, logger="alerter")
    channel = make_channel(case.kind, **FAILURES[failure](case, im_server))

    try:
        channel.send(channel.render(context), timeout=CLIENT_TIMEOUT)
    except DeliveryError as error:
        assert leaked(f"{error} {error!r} {error.vendor_code}", im_server) == []
    assert leaked(caplog.text, im_server) == []


def test_urllib3_debug_logs_are_clean_behind_the_redacting_filter(case, channel, context, caplog):
    # urllib3 logs each request line with its query at DEBUG; quaywatch's logging setup
    # installs its RedactingFilter on its handlers, as done here on pytest's.
    caplog.set_level(logging.DEBUG)
    caplog.handler.addFilter(RedactingFilter())
    channel.send(channel.render(context), timeout=CLIENT_TIMEOUT)

    assert "POST" in caplog.text  # urllib3 did log the request line
    assert TOKEN not in caplog.text


@pytest.mark.parametrize("kind", SPLITTING_KINDS)
def test_a_long_chinese_message_is_split_under_the_byte_limit(kind, make_channel, im_server):
    channel = make_channel(kind)
    context = build_context(long_chinese_group(), "zh", now=NOW)

    payloads = channel.render(context)
    channel.send(payloads, timeout=CLIENT_TIMEOUT)

    assert len(payloads) > 1
    assert all(channel.payload_size(p) <= channel.byte_limit for p in payloads)
    assert [r.verdict for r in im_server.requests] == ["ok"] * len(payloads)
    bodies = "".join(r.body.decode() for r in im_server.requests)
    assert f"(1/{len(payloads)})" in bodies and f"({len(payloads)}/{len(payloads)})" in bodies
    assert all(f"危险品超期滞留{i:02d}" in bodies for i in range(20))


@pytest.mark.parametrize("kind", SPLITTING_KINDS)
def test_a_failed_part_reports_how_many_parts_were_sent(kind, make_channel, im_server):
    channel = make_channel(kind)
    payloads = channel.render(build_context(long_chinese_group(), "zh", now=NOW))
    im_server.play(replies.OK, replies.HTTP_500)

    with pytest.raises(DeliveryError) as info:
        channel.send(payloads, timeout=CLIENT_TIMEOUT)

    assert (info.value.outcome, info.value.parts_sent) == (Outcome.RETRYABLE, 1)
    assert f"part 2/{len(payloads)}" in info.value.message
