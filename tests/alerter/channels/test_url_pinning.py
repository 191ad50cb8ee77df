"""SSRF: the URL is read by the parser that connects, and the address checked is the address
connected to. Only 127.0.0.1 servers are contacted; public addresses are refused before any
socket opens (a resolver stub stands in for DNS)."""

from __future__ import annotations

import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest

from alerter.channels.errors import DeliveryError, Outcome
from alerter.channels.http import HttpClient, PinnedAdapter, check_url

REAL_GETADDRINFO = socket.getaddrinfo


class _Hosts(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.server.hosts.append(self.headers.get("Host"))  # type: ignore[attr-defined]
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def local_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hosts)
    server.hosts = []  # type: ignore[attr-defined]
    Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def no_sockets(monkeypatch):
    """Any attempt to connect fails the test: refusals must come before a connection."""
    opened = []

    def refuse(self, address):
        opened.append(address)
        raise AssertionError(f"a socket was connected to {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return opened


AMBIGUOUS = [
    "http://127.0.0.1:9\\@8.8.8.8/hook",  # urlsplit reads 8.8.8.8, urllib3 connects to 127.0.0.1
    "http://8.8.8.8\\@127.0.0.1/hook",
    "http://user:pw@8.8.8.8/hook",  # userinfo
    "http://8.8.8.8 /hook",
    "http://8.8.8.8/ho ok",
    "http://8.8.8.8/hook\r\nX-Evil: 1",
    "http://8.8.8.8/\x00hook",
    "gopher://8.8.8.8/",
    "file:///etc/passwd",
]


@pytest.mark.parametrize("url", AMBIGUOUS)
@pytest.mark.parametrize("allow_private", [False, True])
def test_an_ambiguous_or_non_http_url_is_refused_before_any_connection(
    url, allow_private, no_sockets
):
    with pytest.raises(DeliveryError) as info:
        HttpClient().post(url, b"{}", {}, timeout=1, allow_private=allow_private)

    assert info.value.outcome is Outcome.PERMANENT
    assert no_sockets == []


def test_the_backslash_userinfo_trick_is_refused_by_the_check_itself():
    with pytest.raises(DeliveryError, match="backslash.*QUAYWATCH_ALLOW_PRIVATE_URLS"):
        check_url("http://127.0.0.1:8080\\@8.8.8.8/hook")


def test_a_name_with_one_internal_answer_among_public_ones_is_refused_before_connecting(
    monkeypatch, no_sockets
):
    def resolve(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.8.8", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)

    with pytest.raises(DeliveryError) as info:
        HttpClient().post("https://hooks.example/x", b"{}", {}, timeout=1)
    assert "QUAYWATCH_ALLOW_PRIVATE_URLS" in info.value.message
    assert no_sockets == []


def test_the_request_goes_to_the_checked_address_even_if_the_name_rebinds(
    monkeypatch, local_server
):
    answers = iter(["127.0.0.1", "8.8.8.8", "8.8.8.8"])
    asked = []

    def rebinding(host, port, *args, **kwargs):
        if host != "hooks.example":
            return REAL_GETADDRINFO(host, port, *args, **kwargs)
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    port = local_server.server_address[1]

    response = HttpClient().post(
        f"http://hooks.example:{port}/x", b"{}", {}, timeout=2, allow_private=True
    )

    assert response.status_code == 200
    assert asked == ["hooks.example"]  # resolved once: the connection used the pinned answer
    assert local_server.hosts == [f"hooks.example:{port}"]  # the original Host header


def test_a_pinned_https_connection_keeps_the_name_for_sni_and_certificate_checks():
    import requests

    request = requests.Request("POST", "https://hooks.example/x").prepare()
    PinnedAdapter.pin(request, "93.184.216.34")

    host, pool = PinnedAdapter().build_connection_pool_key_attributes(request, True)

    assert host["host"] == "93.184.216.34"
    assert pool["server_hostname"] == "hooks.example"
    assert pool["assert_hostname"] == "hooks.example"


@pytest.mark.parametrize("method", ["post", "patch"])
def test_the_api_refuses_an_ambiguous_channel_url_on_create_and_patch(
    method, client, auth, engine, local_server
):
    good = f"http://127.0.0.1:{local_server.server_address[1]}/hook"
    bad = f"http://127.0.0.1:{local_server.server_address[1]}\\@8.8.8.8/hook"
    created = client.post(
        "/api/v1/channels",
        json={"name": "w", "kind": "webhook", "config": {"url": bad if method == "post" else good}},
        headers=auth,
    )
    if method == "patch":
        assert created.status_code == 201, created.json
        created = client.patch(
            f"/api/v1/channels/{created.json['channel_id']}",
            json={"config": {"url": bad}},
            headers=auth,
        )

    assert created.status_code == 422, created.json
    assert created.json["errors"][0]["field"] == "config.url"
    assert "8.8.8.8" not in created.text or "backslash" in created.text
    assert local_server.hosts == []
