from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from alerter.delivery.dispatch import dispatch_once
from tests.alerter.helpers import FAST, T0, emit
from tests.fakes import im_vendors as replies

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture
def exposition(client, engine, settings, receiver, webhook_channel) -> str:
    webhook_channel(group_wait_s=0)
    receiver.play(replies.HTTP_500)
    emit(engine)
    dispatch_once(engine, settings, T0, policy=FAST)
    dispatch_once(engine, settings, T0 + timedelta(seconds=1), policy=FAST)
    response = client.get("/metrics")
    assert response.status_code == 200
    return response.text


def test_delivery_metrics_count_attempts_by_kind_and_outcome(exposition):
    found = samples(exposition)

    assert (
        found[("quaywatch_delivery_attempts_total", (("kind", "webhook"), ("status", "retryable")))]
        == 1
    )
    assert (
        found[("quaywatch_delivery_attempts_total", (("kind", "webhook"), ("status", "success")))]
        == 1
    )
    assert found[("quaywatch_delivery_latency_seconds_count", (("kind", "webhook"),))] == 2
    assert found[("quaywatch_notifications_queued", (("state", "pending"),))] == 0
    assert found[("quaywatch_delivery_metrics_up", ())] == 1


@pytest.mark.skipif(not shutil.which(PROMTOOL), reason="promtool is not installed")
def test_promtool_accepts_the_metrics_page(exposition):
    result = subprocess.run(
        [PROMTOOL, "check", "metrics"], input=exposition, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stdout + result.stderr
