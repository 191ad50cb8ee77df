from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from tests.alerter.helpers import create_channel, emit, rows
from tests.fakes.recording_receiver import RecordingReceiver

SCRIPT = Path(__file__).with_name("dispatcher_process.py")
ROOT = SCRIPT.parents[3]
BURST = 200


@pytest.fixture
def slow_receiver():
    with RecordingReceiver(delay=0.02) as server:  # ~200 requests take a few seconds
        yield server


def start(db_url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), db_url], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "dispatcher ready"
    return process


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def all_sent(engine) -> bool:
    return (
        rows(engine, "SELECT count(*) AS n FROM notification WHERE state = 'sent'")[0]["n"] == BURST
    )


def test_sigkill_mid_burst_loses_nothing_and_sends_no_group_twice(engine, db_url, slow_receiver):
    create_channel(engine, "webhook", {"url": slow_receiver.url}, group_wait_s=0, group_by=["..."])
    fingerprints = {emit(engine, berth=f"B{i}") for i in range(BURST)}

    first = start(db_url)
    try:
        wait_for(lambda: len(slow_receiver.accepted()) >= BURST // 3)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    arrived_before = len(slow_receiver.accepted())
    assert arrived_before < BURST, "the burst finished before the kill"

    second = start(db_url)
    try:
        wait_for(lambda: all_sent(engine))
    finally:
        second.terminate()
        second.wait()

    notifications = rows(engine, "SELECT notification_id, group_key FROM notification")
    assert len(notifications) == BURST  # one per group, created once despite the crash
    arrivals = slow_receiver.accepted()
    received_ids = {a.notification_id for a in arrivals}
    assert received_ids == {str(n["notification_id"]) for n in notifications}  # none lost
    assert {fp for a in arrivals for fp in a.fingerprints} == fingerprints
    ids_per_group = defaultdict(set)
    for n in notifications:
        ids_per_group[n["group_key"]].add(n["notification_id"])
    assert all(len(ids) == 1 for ids in ids_per_group.values())  # none twice within a group
    # At least once: a send in flight at the kill may arrive again, with the same id and key.
    repeats = len(arrivals) - len(received_ids)
    assert repeats <= 4
    by_key = defaultdict(set)
    for a in arrivals:
        by_key[a.key].add(a.notification_id)
    assert all(len(ids) == 1 for ids in by_key.values())
