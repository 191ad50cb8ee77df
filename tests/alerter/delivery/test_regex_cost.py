"""Unbounded cost: regex matchers run on RE2 (linear time) and refuse what RE2 cannot run."""

from __future__ import annotations

import time

import pytest
from pydantic import ValidationError

from alerter.delivery.matchers import Matcher


@pytest.mark.parametrize("op", ["=~", "!~"])
def test_a_catastrophic_backtracking_pattern_evaluates_in_milliseconds(op):
    matcher = Matcher(name="site", op=op, value="(a+)+$")
    labels = {"site": "a" * 199 + "b"}

    started = time.perf_counter()
    for _ in range(100):
        result = matcher.matches(labels)
    elapsed = time.perf_counter() - started

    assert result is (op == "!~")
    assert elapsed < 0.05  # 100 evaluations; Python's re takes longer than the universe's age


def test_a_regex_matcher_is_anchored_at_both_ends():
    assert Matcher(name="sev", op="=~", value="crit|warn").matches({"sev": "warn"})
    assert not Matcher(name="sev", op="=~", value="crit|warn").matches({"sev": "warning"})


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?=a)a", r"(?<!x)a", "(unclosed"])
def test_a_pattern_re2_cannot_compile_is_refused_naming_the_value(pattern):
    with pytest.raises(ValidationError) as info:
        Matcher(name="site", op="=~", value=pattern)
    assert "RE2" in str(info.value)


def test_the_api_refuses_a_backreference_in_a_channel_or_silence_matcher(client, auth):
    matcher = {"name": "site", "op": "=~", "value": r"(a)\1"}
    channel = client.post(
        "/api/v1/channels",
        json={
            "name": "w",
            "kind": "webhook",
            "config": {"url": "http://127.0.0.1:9/hook"},
            "matchers": [matcher],
        },
        headers=auth,
    )
    silence = client.post(
        "/api/v1/silences",
        json={
            "matchers": [matcher],
            "starts_at": "2026-08-22T03:00:00Z",
            "ends_at": "2026-08-22T04:00:00Z",
            "comment": "x",
        },
        headers=auth,
    )

    for response in (channel, silence):
        assert response.status_code == 422, response.json
        assert response.json["errors"][0]["field"] == "matchers.0.value"
