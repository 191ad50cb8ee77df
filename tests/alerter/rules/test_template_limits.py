"""Unbounded cost: an annotation renders at most 16 KiB; what would be bigger is refused when
saved, or cut with a marker when only the data makes it big."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from alerter.rules.templating import MAX_ANNOTATION_BYTES, TRUNCATED, render, template_problem
from tests.alert_rules import put_value, threshold_spec

CLEARANCE = threshold_spec()["indicator"]


@pytest.mark.parametrize(
    "source",
    [
        "{{ 'x' * 5000000 }}",
        "{{ ['x'] * 5000000 }}",
        "{{ 9 ** 99999999 }}",
        "{{ 'x' * 16000 }}{{ 'y' * 16000 }}",
    ],
)
def test_a_template_that_would_render_more_than_the_limit_is_refused_when_saved(source):
    started = time.perf_counter()
    problem = template_problem(source, "threshold")
    assert problem is not None and "16 KiB" in problem
    assert time.perf_counter() - started < 1


def test_the_rules_api_refuses_it_naming_the_annotation(client, auth):
    spec = threshold_spec(annotations={"summary": "{{ 'x' * 5000000 }}"})

    response = client.post("/api/v1/rules", json=spec, headers=auth)

    assert response.status_code == 422, response.json
    assert response.json["errors"][0]["field"] == "annotations.summary"


def test_a_rendering_made_big_by_the_data_is_cut_at_the_limit_with_a_marker():
    out = render("{{ site_name * 2000 }}", {"site_name": "蛇口集装箱码头"})

    assert out.endswith(TRUNCATED)
    assert len(out.encode()) <= MAX_ANNOTATION_BYTES + len(TRUNCATED.encode())
    out.encode().decode()  # cut on a character boundary


def test_a_normal_rendering_is_untouched():
    assert render("{{ value }} > {{ threshold }}", {"value": 50, "threshold": 40}) == "50 > 40"


def test_a_preview_shows_the_capped_annotation(client, engine, auth):
    put_value(engine, "5304-SHEKOU", CLEARANCE, 50, datetime.now(UTC))
    draft = threshold_spec(
        name="draft", threshold=40, annotations={"summary": "{{ site_name * 2000 }}"}
    )

    response = client.post("/api/v1/alerts/preview", json={"rule": draft}, headers=auth)

    assert response.status_code == 200, response.json
    [instance] = [i for i in response.json["instances"] if i["node_id"] == "5304-SHEKOU"]
    assert instance["summary"].endswith(TRUNCATED)
    assert len(instance["summary"].encode()) <= MAX_ANNOTATION_BYTES + len(TRUNCATED.encode())
