from __future__ import annotations

from datetime import timedelta

from alerter.delivery.grouping import SentState
from alerter.delivery.matchers import Matcher
from alerter.delivery.routing import ChannelRoute
from alerter.delivery.silences import Silence
from alerter.delivery.stages import STAGES, FlushContext, GroupAlert, run
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
