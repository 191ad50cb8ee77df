from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime

import pytest

from alerter.channels.errors import DeliveryError, Outcome
from alerter.channels.http import (
    check_url,
    parse_retry_after,
    redact,
    redact_url,
)
from quaywatch.log import RedactingFilter

INTERNAL_URLS = [
    "http://127.0.0.1/hook",
    "http://127.8.9.10:8080/",
    "http://10.1.2.3/x",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://100.64.0.1/",  # carrier-grade NAT
    "http://0.0.0.0/",
    "http://224.0.0.1/",  # multicast
    "http://240.0.0.1/",  # reserved
    "http://[::1]:9093/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped loopback
    "http://localhost:9093/",  # a name that resolves to loopback
]


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_check_url_refuses_internal_addresses(url):
    with pytest.raises(DeliveryError) as info:
        check_url(url)

    assert info.value.outcome is Outcome.PERMANENT
    assert "refusing" in info.value.message
    assert "allow_private" in info.value.message


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_check_url_allows_internal_addresses_when_allowed(url):
    check_url(url, allow_private=True)


@pytest.mark.parametrize("url", ["https://8.8.8.8/hook", "http://[2001:4860:4860::8888]/"])
def test_check_url_allows_public_addresses(url):
    check_url(url)  # IP literals: resolving them needs no network


def test_check_url_refuses_a_name_that_resolves_to_a_private_address(monkeypatch):
    def resolve(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)

    with pytest.raises(DeliveryError, match=r"ports\.example \(10\.0\.0\.5\)"):
        check_url("https://ports.example/hook")


def test_an_unresolvable_name_is_retryable(monkeypatch):
    def fail(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)

    with pytest.raises(DeliveryError) as info:
        check_url("https://ports.example/hook")
    assert info.value.outcome is Outcome.RETRYABLE
    assert "Name or service not known" in info.value.message


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "http:///x", "x"])
def test_check_url_refuses_other_schemes_even_when_private_is_allowed(url):
    with pytest.raises(DeliveryError, match="http"):
        check_url(url, allow_private=True)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://oapi.dingtalk.com/robot/send?access_token=abc123&timestamp=17&sign=x%2By%3D",
            "https://oapi.dingtalk.com/robot/send?access_token=***&timestamp=17&sign=***",
        ),
        (
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4",
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***",
        ),
        (
            "https://hooks.slack.com/services/T000/B000/XXXXXXXX",
            "https://hooks.slack.com/services/***",
        ),
        (
            "https://open.feishu.cn/open-apis/bot/v2/hook/0f4c8e2a-uuid?x=1",
            "https://open.feishu.cn/open-apis/bot/v2/hook/***?x=1",
        ),
        ("https://user:pa55@am.example/api/v2/alerts", "https://***@am.example/api/v2/alerts"),
        ("https://example.com/alerts?page=2", "https://example.com/alerts?page=2"),
    ],
)
def test_redact_url_hides_tokens(url, expected):
    assert redact_url(url) == expected


def test_redact_hides_known_secrets_raw_and_percent_encoded_and_url_tokens():
    text = (
        "HTTPConnectionPool(host='127.0.0.1', port=1): Max retries exceeded with url: "
        "/robot/send?access_token=tok123456&sign=abc (secret s3cr+t/x and s3cr%2Bt%2Fx)"
    )

    clean = redact(text, ["s3cr+t/x"])

    assert "tok123456" not in clean
    assert "s3cr" not in clean
    assert "access_token=***" in clean


def test_redact_ignores_empty_or_tiny_secrets():
    assert redact("a b c", ["", "a"]) == "a b c"


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        ("0", 0.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 60.0),
        ("Wednesday, 21-Oct-15 07:28:00 GMT", 60.0),  # RFC 850, obsolete but allowed
        ("Wed, 21 Oct 2015 07:00:00 GMT", 0.0),  # already past
        ("-1", None),
        ("nan", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after_reads_seconds_and_http_dates(value, seconds):
    now = datetime(2015, 10, 21, 7, 27, tzinfo=UTC)

    assert parse_retry_after(value, now=now) == seconds


def test_the_log_filter_masks_the_tokens_in_urllib3_request_lines():
    # quaywatch's logging setup installs this filter on every handler; urllib3 logs the query.
    record = logging.LogRecord(
        "urllib3.connectionpool",
        logging.DEBUG,
        __file__,
        1,
        '%s://%s:%s "%s %s %s" %s %s',
        (
            "http",
            "127.0.0.1",
            80,
            "POST",
            "/robot/send?access_token=tok123&sign=s",
            "HTTP/1.1",
            200,
            27,
        ),
        None,
    )

    assert RedactingFilter().filter(record)
    assert "tok123" not in record.getMessage()
    assert "access_token=********" in record.getMessage()
