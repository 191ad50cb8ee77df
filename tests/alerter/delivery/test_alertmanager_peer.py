"""Debian's prometheus-alertmanager as a real peer: our dispatcher pushes through the
Alertmanager channel, the alerts show up in its API with our labels, and it routes them on to
a local webhook receiver (DESIGN.md §7)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from alerter.delivery.dispatch import dispatch_once
from tests.alerter.helpers import FAST, create_channel, emit
from tests.fakes.recording_receiver import RecordingReceiver
from tests.waiting import wait_for

BINARY = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"
CONFIG = """
route:
  receiver: port-ops
  group_by: [alertname, site]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: port-ops
    webhook_configs:
      - url: {url}
        send_resolved: true
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def downstream() -> Iterator[RecordingReceiver]:
    with RecordingReceiver() as server:
        yield server


@pytest.fixture
def alertmanager(tmp_path: Path, downstream: RecordingReceiver) -> Iterator[str]:
    if not Path(BINARY).exists():
        pytest.skip("prometheus-alertmanager is not installed")
    config = tmp_path / "alertmanager.yml"
    config.write_text(CONFIG.format(url=downstream.url))
    address = f"127.0.0.1:{free_port()}"
    process = subprocess.Popen(
        [
            BINARY,
            f"--config.file={config}",
            f"--storage.path={tmp_path}",
            f"--web.listen-address={address}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: ready(f"http://{address}"), 20, "Alertmanager to be ready", every=0.1)
        yield f"http://{address}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/-/ready", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


def test_our_pushes_appear_in_alertmanager_with_our_labels_and_it_routes_them_on(
    engine, settings, alertmanager, downstream
):
    create_channel(engine, "alertmanager", {"url": alertmanager}, group_wait_s=0)
    started = datetime.now(UTC) - timedelta(minutes=1)
    emit(engine, node_id="3101-BEILUN", starts_at=started, indicator="berth_queue")

    dispatch_once(engine, settings, policy=FAST)

    [stored] = requests.get(f"{alertmanager}/api/v2/alerts", timeout=5).json()
    assert {k: stored["labels"][k] for k in ("alertname", "severity", "site", "node", "kind")} == {
        "alertname": "BerthQueueHigh",
        "severity": "critical",
        "site": "3101-BEILUN",
        "node": "3101-BEILUN",
        "kind": "threshold",
    }
    assert stored["status"]["state"] == "active"
    assert stored["generatorURL"].startswith(f"{settings.grafana_url}/d/qw-port?")
    assert stored["receivers"] == [{"name": "port-ops"}]
    wait_for(downstream.accepted, 20, "Alertmanager to route the alert on", every=0.1)
    message = downstream.accepted()[0].body
    assert message["receiver"] == "port-ops" and message["status"] == "firing"
    assert message["alerts"][0]["generatorURL"] == stored["generatorURL"]
    assert message["alerts"][0]["labels"]["site"] == "3101-BEILUN"
    assert message["alerts"][0]["annotations"]["summary"] == "queue above 40 at 3101-BEILUN"


def test_a_resolve_we_push_resolves_the_alert_in_alertmanager_and_downstream(
    engine, settings, alertmanager, downstream
):
    create_channel(
        engine, "alertmanager", {"url": alertmanager}, group_wait_s=0, group_interval_s=1
    )
    started = datetime.now(UTC) - timedelta(minutes=1)
    emit(engine, starts_at=started)
    dispatch_once(engine, settings, policy=FAST)
    wait_for(downstream.accepted, 20, "Alertmanager to route the alert on", every=0.1)

    emit(engine, "resolved", starts_at=started, ends_at=datetime.now(UTC))
    time.sleep(1.1)  # our group_interval
    dispatch_once(engine, settings, policy=FAST)

    def resolved() -> bool:
        return any(a.body["status"] == "resolved" for a in downstream.accepted())

    wait_for(resolved, 20, "the resolve downstream", every=0.1)
    active = requests.get(f"{alertmanager}/api/v2/alerts?active=true", timeout=5).json()
    assert active == []
