from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from alerter.channels.alertmanager import ENDS_AT_AHEAD_S, Alertmanager
from alerter.channels.errors import DeliveryError, Outcome
from alerter.channels.message import AlertGroupView, AlertView, build_context, fingerprint
from alerter.channels.webhook import Webhook
from alerter.delivery.probe import sample_content
from alerter.delivery.routing import ALERTMANAGER_RESEND_S
from alerter.delivery.sending.notification_view import group_view
from tests.fakes.alert_groups import NOW, sample_group
from tests.fakes.channel_cases import CLIENT_TIMEOUT, TOKEN

ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


def test_it_posts_a_list_of_postable_alerts(make_channel, im_server, context):
    channel = make_channel("alertmanager")

    channel.send(channel.render(context), timeout=CLIENT_TIMEOUT)

    received = im_server.requests[0]
    assert received.path == "/api/v2/alerts"
    assert received.headers["Authorization"] == f"Bearer {TOKEN}"
    [alert] = received.json
    assert set(alert) == {"labels", "annotations", "startsAt", "endsAt", "generatorURL"}
    assert alert["labels"]["alertname"] == "BerthQueueHigh"
    assert alert["generatorURL"] == "https://quaywatch.example/rules/42"


def test_a_resolved_alert_is_sent_with_its_end(make_channel):
    context = build_context(sample_group("resolved"), "zh", now=NOW)

    [alert] = make_channel("alertmanager").render(context)[0]["alerts"]

    assert alert["endsAt"] == "2026-08-22T03:04:05.123Z"


def test_a_resolved_alert_without_an_end_ends_now(make_channel):
    alert = AlertView("resolved", {"alertname": "A"}, NOW)
    context = build_context(AlertGroupView("resolved", "k", "r", {}, [alert]), "en", now=NOW)
    channel = make_channel("alertmanager", clock=lambda: NOW.timestamp())

    [postable] = channel.render(context)[0]["alerts"]

    assert postable["endsAt"] == "2026-08-22T03:04:05.123Z"
    assert "generatorURL" not in postable  # format uri: left out rather than sent empty


def test_a_wrong_bearer_token_is_permanent(make_channel, im_server, context):
    channel = make_channel("alertmanager", bearer_token="wrong-token-000000")

    with pytest.raises(DeliveryError) as info:
        channel.send(channel.render(context), timeout=CLIENT_TIMEOUT)

    assert (info.value.outcome, info.value.vendor_code) == (Outcome.PERMANENT, "401")


# Against Debian's prometheus-alertmanager, the real peer (DESIGN.md §7).


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


NULL_ROUTE = 'route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n'


@pytest.fixture(scope="module")
def alertmanager_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _run_alertmanager(tmp_path_factory.mktemp("alertmanager"), NULL_ROUTE)


@pytest.fixture
def short_resolve_url(tmp_path: Path) -> Iterator[str]:
    """resolve_timeout 1s: our 1m scaled down, so re-pushes every 1.5s stand for 60-72s."""
    yield from _run_alertmanager(tmp_path, "global:\n  resolve_timeout: 1s\n" + NULL_ROUTE)


def _run_alertmanager(workdir: Path, config_text: str) -> Iterator[str]:
    if ALERTMANAGER is None:
        pytest.skip("prometheus-alertmanager is not installed")
    config = workdir / "alertmanager.yml"
    config.write_text(config_text)
    url = f"http://127.0.0.1:{_free_port()}"
    process = subprocess.Popen(
        [
            ALERTMANAGER,
            f"--config.file={config}",
            f"--storage.path={workdir}",
            f"--web.listen-address={url.removeprefix('http://')}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_ready(url)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_ready(url: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/-/ready", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise RuntimeError("alertmanager did not become ready")


def _active(url: str, alertname: str) -> list[dict[str, object]]:
    alerts = requests.get(f"{url}/api/v2/alerts", timeout=5).json()
    return [a for a in alerts if a["labels"].get("alertname") == alertname]


def _group(status: str, alertname: str) -> AlertGroupView:
    now = datetime.now(UTC)
    alert = AlertView(
        status,  # type: ignore[arg-type]
        {"alertname": alertname, "site": "CNNGB-B3", "site_name": "宁波港 B3"},
        now - timedelta(minutes=5),
        {"summary": "泊位排队过长"},
        ends_at=now - timedelta(seconds=1) if status == "resolved" else None,
        generator_url="http://quaywatch.example/rules/1",
    )
    return AlertGroupView(status, "k", "r", {}, [alert])  # type: ignore[arg-type]


def test_a_real_alertmanager_accepts_firing_then_resolved_alerts(alertmanager_url):
    channel = Alertmanager({"url": alertmanager_url, "allow_private": True})

    channel.send(channel.render(build_context(_group("firing", "QwFiring"))), timeout=5)
    [stored] = _active(alertmanager_url, "QwFiring")
    assert stored["labels"]["site_name"] == "宁波港 B3"
    assert stored["annotations"] == {"summary": "泊位排队过长"}

    channel.send(channel.render(build_context(_group("resolved", "QwFiring"))), timeout=5)
    assert _active(alertmanager_url, "QwFiring") == []


def test_a_real_alertmanager_refuses_an_alert_without_labels(alertmanager_url):
    channel = Alertmanager({"url": alertmanager_url, "allow_private": True})
    bad = {"alerts": [{"labels": {}, "startsAt": "2026-08-22T03:04:05Z"}]}

    with pytest.raises(DeliveryError) as info:
        channel.send([bad], timeout=5)

    assert (info.value.outcome, info.value.vendor_code) == (Outcome.PERMANENT, "400")


def test_a_firing_alert_ends_well_after_the_next_push_as_prometheus_sends_it(make_channel):
    channel = make_channel("alertmanager", clock=lambda: NOW.timestamp())
    context = build_context(sample_group(), "zh", now=NOW)

    [alert] = channel.render(context)[0]["alerts"]

    ends = datetime.fromisoformat(alert["endsAt"])
    assert ends == NOW + timedelta(seconds=ENDS_AT_AHEAD_S)
    assert ENDS_AT_AHEAD_S >= 3 * ALERTMANAGER_RESEND_S  # several re-pushes may be late


def test_a_firing_alert_stays_active_across_re_pushes_past_resolve_timeout(short_resolve_url):
    channel = Alertmanager({"url": short_resolve_url, "allow_private": True})

    for _ in range(3):
        channel.send(channel.render(build_context(_group("firing", "QwKept"))), timeout=5)
        time.sleep(1.5)  # longer than resolve_timeout, as 60-72s is longer than 1m
        [stored] = _active(short_resolve_url, "QwKept")
        assert stored["status"]["state"] == "active"


def test_the_webhook_fingerprint_is_the_one_a_real_alertmanager_gives(alertmanager_url):
    group = _group("firing", "QwPrint")
    ours = replace(group.alerts[0], fingerprint="f" * 32)  # rule id + labels, as we store it
    group = replace(group, alerts=[ours])
    channel = Alertmanager({"url": alertmanager_url, "allow_private": True})
    channel.send(channel.render(build_context(group)), timeout=5)

    [stored] = _active(alertmanager_url, "QwPrint")
    webhook = Webhook({"url": "https://hooks.example/x"})
    [sent] = webhook.render(build_context(group))[0]["alerts"]
    assert sent["fingerprint"] == stored["fingerprint"] == fingerprint(stored["labels"])


def test_a_test_send_leaves_no_firing_alert_behind(alertmanager_url):
    record = SimpleNamespace(name="am-test", lang="en", channel_id=7, node_id="3101")
    view = group_view(sample_content(record, datetime.now(UTC)), "am-test", "http://g")  # type: ignore[arg-type]
    channel = Alertmanager({"url": alertmanager_url, "allow_private": True})

    payloads = channel.render(build_context(view, "en"))
    channel.send(payloads, timeout=5)

    assert [[a.get("endsAt") is not None for a in p["alerts"]] for p in payloads] == [[True]] * 2
    assert _active(alertmanager_url, "QuayWatchTest") == []
