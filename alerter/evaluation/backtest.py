"""Replay stored history through a draft rule: when it would have fired and resolved, and what
that would have cost in notifications. Writes nothing.

The replay uses the same pure evaluate() as the live evaluator, stepping through time:
- threshold and feed-silence rules read metric_point (windows up to 7 days, 1- or 5-minute
  steps, the last value of each step) or metric_hourly beyond (hourly steps, the hour's last
  value: coarser, so short spikes can be missed; the answer says which source it used); a
  feed-silence rule with ``expected: learned`` judges each site at each step by the rate it had
  learned by then, from hourly event counts read once;
- forecast rules read forecast_crossing: at each step, the newest run computed by then;
- deadline rules read lot: a lot is observed while present and within hours_before of its
  deadline (breach predictions are not replayed).
Notifications are counted by notify_sim with Alertmanager's grouping and timing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from alerter.evaluation.alert_state import Instance, Transition
from alerter.evaluation.evaluate import evaluate
from alerter.evaluation.labels import Target, load_world
from alerter.evaluation.notify_sim import AlertEvent, Timing, simulate
from alerter.evaluation.reads.history import Frames, Window, choose_window
from alerter.evaluation.reads.history import frames as build_frames
from alerter.rules.inheritance import Override, resolve
from alerter.rules.kinds import AnyRule, NoDataRule

MAX_LISTED = 500


class BacktestError(ValueError):
    """The rule cannot be replayed (its kind or check has no stored history)."""


def run_backtest(
    conn: Connection,
    rule: AnyRule,
    overrides: Sequence[Override],
    days: float,
    timing: Timing,
    group_by: Sequence[str],
    until: datetime | None = None,
    step: timedelta | None = None,
) -> dict[str, Any]:
    if isinstance(rule, NoDataRule) and rule.check == "stale_series":
        raise BacktestError("check: stale_series has no stored history to replay; use feed_silence")
    window = choose_window(rule, days, until or datetime.now(UTC), step)
    target = Target(0, resolve(rule, overrides))
    world = load_world(conn)
    frames, count = build_frames(conn, target, world, window)
    transitions = replay(rule, frames)
    events = [
        AlertEvent(at, t.instance.fingerprint, t.instance.labels, t.notify)
        for at, t in transitions
        if t.notify is not None
    ]
    sent = simulate(events, group_by, timing, window.until)
    return _answer(rule, window, count, transitions, events, sent, timing, group_by)


def replay(rule: AnyRule, frames: Frames) -> list[tuple[datetime, Transition]]:
    """Run evaluate() over every frame, carrying instance states from one step to the next."""
    previous: dict[str, Instance] = {}
    out: list[tuple[datetime, Transition]] = []
    for at, observations in frames:
        outcome = evaluate(0, rule, observations, previous, at, annotate=False)
        for instance in outcome.instances:
            previous[instance.fingerprint] = instance
        for fp in outcome.removed:
            previous.pop(fp, None)
        out += [(at, transition) for transition in outcome.transitions]
    return out


def _answer(
    rule: AnyRule,
    window: Window,
    series: int,
    transitions: list[tuple[datetime, Transition]],
    events: list[AlertEvent],
    sent: list[Any],
    timing: Timing,
    group_by: Sequence[str],
) -> dict[str, Any]:
    episodes = _episodes(transitions)
    return {
        "rule": rule.as_spec(),
        "window": {
            "since": window.since.isoformat(),
            "until": window.until.isoformat(),
            "step_seconds": window.step.total_seconds(),
            "source": window.source,
        },
        "series": series,
        "fired": len(episodes),
        "resolved": sum(1 for e in episodes if e["resolved_at"]),
        "firing_at_end": sum(1 for e in episodes if not e["resolved_at"]),
        "transitions": len(transitions),
        "outbox_events": len(events),
        "episodes": episodes[:MAX_LISTED],
        "truncated": len(episodes) > MAX_LISTED,
        "notifications": {
            "total": len(sent),
            "group_by": list(group_by),
            "group_wait_seconds": timing.group_wait.total_seconds(),
            "group_interval_seconds": timing.group_interval.total_seconds(),
            "repeat_interval_seconds": timing.repeat_interval.total_seconds(),
            "by_reason": dict(Counter(n.reason for n in sent)),
            "items": [
                {
                    "at": n.at.isoformat(),
                    "group": n.group,
                    "reason": n.reason,
                    "firing": n.firing,
                    "resolved": n.resolved,
                }
                for n in sent[:MAX_LISTED]
            ],
        },
    }


def _episodes(transitions: list[tuple[datetime, Transition]]) -> list[dict[str, Any]]:
    """Firing episodes: from the firing notification to the resolved one (or still open)."""
    open_: dict[str, dict[str, Any]] = {}
    done = []
    for at, transition in transitions:
        instance = transition.instance
        if transition.notify == "firing":
            open_[instance.fingerprint] = {
                "fingerprint": instance.fingerprint,
                "node_id": instance.node_id,
                "labels": {
                    k: v for k, v in instance.labels.items() if k in ("node", "site", "lot_id")
                },
                "fired_at": at.isoformat(),
                "value_at_fire": instance.last_value,
                "resolved_at": None,
                "duration_minutes": None,
            }
        elif transition.notify == "resolved" and instance.fingerprint in open_:
            episode = open_.pop(instance.fingerprint)
            episode["resolved_at"] = at.isoformat()
            fired = datetime.fromisoformat(episode["fired_at"])
            episode["duration_minutes"] = (at - fired).total_seconds() / 60
            done.append(episode)
    return sorted([*done, *open_.values()], key=lambda e: (e["fired_at"], e["node_id"]))
