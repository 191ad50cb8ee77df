from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from alerter.channels.message import (
    AlertGroupView,
    AlertView,
    build_context,
    fingerprint,
    format_number,
    iso_utc,
)
from alerter.channels.render import render_text
from tests.fakes.alert_groups import NOW, berth_alert, forecast_alert, sample_group


def group_of(*alerts: AlertView, status: str = "firing") -> AlertGroupView:
    return AlertGroupView(status, "{}:{}", "ops", {}, list(alerts))  # type: ignore[arg-type]


def test_fingerprint_matches_prometheus():
    # prometheus/common model/fingerprinting_test.go TestMetricToFingerprint
    labels = {"name": "garland, briggs", "fear": "love is not enough"}

    assert fingerprint({}) == f"{14695981039346656037:016x}"
    assert fingerprint(labels) == f"{5799056148416392346:016x}"


def test_the_context_carries_title_counts_names_values_and_links():
    context = build_context(sample_group(), "zh", now=NOW)

    assert context["title"] == "[严重] BerthQueueHigh · 宁波港 B3"
    assert context["counts"] == {"firing": 1, "resolved": 0, "total": 1}
    assert (context["site"], context["node"], context["severity"]) == (
        "宁波港 B3",
        "宁波海关",
        "critical",
    )
    assert context["dashboard_url"] == "https://grafana.example/d/port?var-site=CNNGB-B3"
    [alert] = context["alerts"]
    assert alert["value"] == "45"
    assert alert["starts_at"] == "2026-08-22T02:54:05.123Z"
    assert alert["starts_local"] == "2026-08-22 10:54"  # Asia/Shanghai by default
    assert alert["fingerprint"] == fingerprint(alert["labels"])
    assert context["common_annotations"]["summary"].startswith("泊位排队")


def test_the_english_title_and_a_resolved_group():
    context = build_context(sample_group("resolved"), "en", now=NOW)

    assert context["title"] == "[RESOLVED] BerthQueueHigh · 宁波港 B3"
    assert context["alerts"][0]["ends_at"] == iso_utc(NOW)


def test_mixed_sites_leave_the_group_site_blank_and_take_the_worst_severity():
    b4 = berth_alert("CNNGB-B4", "宁波港 B4", severity="warning")
    context = build_context(group_of(b4, berth_alert()), "en", now=NOW)

    assert context["site"] == ""
    assert context["severity"] == "critical"
    assert context["title"] == "[CRITICAL x2] BerthQueueHigh"


def test_a_group_of_different_alerts_is_titled_by_its_org_node():
    context = build_context(group_of(berth_alert(), forecast_alert()), "zh", now=NOW)

    assert context["title"] == "[严重 ×2] 宁波海关"


@pytest.mark.parametrize(
    ("lang", "wording"),
    [
        ("zh", "预测于 08-22 16:04（约 5 小时后）超过阈值 40，概率约 0.8"),
        ("en", "Predicted to cross 40 at 08-22 16:04, in 5 h, p≈0.8"),
    ],
)
def test_forecast_labels_become_forecast_wording(lang, wording):
    context = build_context(group_of(forecast_alert()), lang, now=NOW)

    assert context["forecast"] is True
    assert context["alerts"][0]["forecast"]["in_hours"] == "5"
    text = render_text("slack.mrkdwn.j2", context, dialect="slack")
    assert wording in text
    assert ("预测" if lang == "zh" else "FORECAST") in context["title"]


def test_a_group_with_measured_breaches_is_not_called_a_forecast():
    context = build_context(group_of(forecast_alert(), berth_alert()), "zh", now=NOW)

    assert context["forecast"] is False


def test_only_twenty_alerts_are_listed():
    alerts = [berth_alert(f"S{i}", f"站点{i}") for i in range(25)]
    context = build_context(group_of(*alerts), "zh", now=NOW)

    text = render_text("wecom.md.j2", context, dialect="markdown")

    assert "站点19" in text and "站点20" not in text
    assert "另有 5 条告警未列出" in text


def test_an_unknown_language_is_refused():
    with pytest.raises(ValueError, match="lang"):
        build_context(sample_group(), "fr")


def test_naive_times_are_taken_as_utc():
    alert = AlertView("firing", {"alertname": "A"}, datetime(2026, 1, 1, 0, 0))

    context = build_context(group_of(alert), "en", now=NOW + timedelta(days=1))

    assert context["alerts"][0]["starts_at"] == "2026-01-01T00:00:00.000Z"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (45.0, "45"),
        (38.5, "38.5"),
        (1234.567, "1234.57"),
        (0.1234, "0.123"),
        (0, "0"),
        (-2.5, "-2.5"),
        (None, None),
    ],
)
def test_format_number(value, text):
    assert format_number(value) == text
