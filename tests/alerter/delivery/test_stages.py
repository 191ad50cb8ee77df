from __future__ import annotations

from datetime import timedelta

from alerter.delivery.grouping import SentState
from alerter.delivery.matchers import Matcher
from alerter.delivery.routing import ChannelRoute
from alerter.delivery.stages import STAGES, Ack, FlushContext, GroupAlert, alert_status, run
from alerter.delivery.suppression.inhibition import Source
from alerter.delivery.suppression.silences import MuteInterval, Silence
from tests.alerter.helpers import T0

PATH = ("CN", "3100", "3101", "3101-BEILUN")


def alert(fp: str, status: str = "firing", **labels: str) -> GroupAlert:
    return GroupAlert(fp, status, {"alertname": "A", **labels}, {}, T0, PATH)


def context(**fields) -> FlushContext:
    return FlushContext(ChannelRoute(1, "CN", "c"), T0, SentState(), **fields)


def test_the_policy_reads_in_one_line():
    assert [s.__name__ for s in STAGES] == [
        "mute_time",
        "inhibit",
        "silence",
        "drop_unseen_resolved",
        "dedup",
        "acknowledged",
        "drop_resolved_if_off",
    ]


def test_an_empty_list_stops_the_chain_before_dedup_decides_anything():
    quiet = Silence(1, "CN", (Matcher(name="alertname", value="A"),), T0, T0 + timedelta(hours=1))
    ctx = context(silences=[quiet])

    assert run(ctx, [alert("a")]) == []
    assert ctx.withheld == {"a": "silenced by 1"}
    assert ctx.decision.reason is None


def test_a_silence_that_ends_does_not_re_announce_what_was_already_sent():
    quiet = Silence(1, "CN", (Matcher(name="alertname", value="A"),), T0, T0 + timedelta(hours=1))
    sent = SentState(frozenset({"a"}), frozenset(), T0 - timedelta(minutes=1))
    ctx = FlushContext(ChannelRoute(1, "CN", "c"), T0, sent, silences=[quiet])

    assert run(ctx, [alert("a"), alert("b", severity="info")]) == []  # b has alertname A too
    after = FlushContext(ChannelRoute(1, "CN", "c"), T0 + timedelta(hours=2), sent)
    assert run(after, [alert("a")]) == []  # not news: announced before the silence


def test_resolved_alerts_the_receiver_never_saw_are_dropped():
    ctx = context()
    assert run(ctx, [alert("a"), alert("b", "resolved")]) == [alert("a")]
    assert ctx.decision.reason == "first notification"


REPEAT_DUE = SentState(frozenset({"a"}), frozenset(), T0 - timedelta(hours=5))


def test_an_acknowledged_alert_is_not_repeated_while_the_ack_holds():
    ack = Ack("duty officer", T0 + timedelta(hours=1))
    ctx = FlushContext(ChannelRoute(1, "CN", "c"), T0, REPEAT_DUE, acks={"a": ack})

    assert run(ctx, [alert("a")]) == []
    assert ctx.withheld == {"a": "acknowledged by duty officer until 2026-08-22T04:00:00+00:00"}
    assert not ctx.decision.send


def test_an_expired_ack_lets_the_repeat_through_and_an_ack_never_holds_back_news():
    expired = Ack("duty officer", T0 - timedelta(seconds=1))
    ctx = FlushContext(ChannelRoute(1, "CN", "c"), T0, REPEAT_DUE, acks={"a": expired})
    assert run(ctx, [alert("a")]) == [alert("a")]
    assert ctx.decision.reason == "repeat interval elapsed"

    held = Ack("duty officer", T0 + timedelta(hours=1))
    news = FlushContext(ChannelRoute(1, "CN", "c"), T0, REPEAT_DUE, acks={"a": held})
    assert run(news, [alert("a"), alert("b")]) == [alert("a"), alert("b")]
    assert news.decision.reason == "new alerts added"


def test_an_alerts_status_names_every_silence_inhibitor_and_mute_interval_at_once():
    quiet = Silence(7, "CN", (Matcher(name="alertname", value="A"),), T0, T0 + timedelta(hours=1))
    source = Source("feed", {"kind": "no_data", "node": "3101-BEILUN"})
    always = MuteInterval.from_row(
        {"mute_interval_id": 1, "node_id": "CN", "name": "night", "time_zone": "UTC",
         "intervals": [{}]}
    )  # fmt: skip
    target = alert("a", kind="threshold", node="3101-BEILUN")
    ack = Ack("duty officer", T0 + timedelta(hours=1))

    status = alert_status(target, T0, [quiet], [source], [[always], []], {"a": ack}).as_json()

    assert status == {
        "state": "suppressed",
        "silencedBy": [7],
        "inhibitedBy": ["feed"],
        "mutedBy": ["night"],
        "acknowledged": {"by": "duty officer", "until": "2026-08-22T04:00:00+00:00"},
    }
    plain = alert_status(alert("b"), T0, [], [], [[]], {}).as_json()
    assert plain == {
        "state": "active", "silencedBy": [], "inhibitedBy": [], "mutedBy": [],
        "acknowledged": None,
    }  # fmt: skip
