"""Inhibition: a firing source alert mutes target alerts sharing some labels; pure.

Alertmanager's ``inhibit_rules`` (source_matchers, target_matchers, equal;
https://prometheus.io/docs/alerting/latest/configuration/#inhibit_rule). The rule we ship: a
site that stopped reporting (a ``kind="no_data"`` alert) mutes its own threshold and forecast
alerts, which would otherwise fire or flap on stale numbers while the one alert that matters
is "no data". ``equal`` compares the ``node`` routing label, which dispatch always sets from
the event's org node, so an office-level threshold alert is not muted by one site's silence.

One difference from Alertmanager: an ``equal`` label must be present on the source; a source
without it inhibits nothing (Alertmanager treats "absent on both" as equal, which lets a
label-less source mute everything).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from alerter.delivery.matchers import Matcher, all_match


@dataclass(frozen=True)
class InhibitRule:
    name: str
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]

    def inhibits(self, source: Mapping[str, str], target: Mapping[str, str]) -> bool:
        return (
            all_match(self.source, source)
            and all_match(self.target, target)
            and all(source.get(k) and source.get(k) == target.get(k) for k in self.equal)
        )


NO_DATA_MUTES_THRESHOLDS = InhibitRule(
    "no data at a node mutes its threshold and forecast alerts",
    source=(Matcher(name="kind", op="=", value="no_data"),),
    target=(Matcher(name="kind", op="=~", value="threshold|forecast"),),
    equal=("node",),
)
DEFAULT_RULES: tuple[InhibitRule, ...] = (NO_DATA_MUTES_THRESHOLDS,)

# The source kinds dispatch loads from active_alert (kept small: one indexed lookup).
SOURCE_KINDS = ("no_data",)


@dataclass(frozen=True)
class Source:
    """A firing alert that may inhibit others."""

    fingerprint: str
    labels: Mapping[str, str]


def inhibited_by(
    fingerprint: str,
    labels: Mapping[str, str],
    sources: Iterable[Source],
    rules: Iterable[InhibitRule] = DEFAULT_RULES,
) -> list[str]:
    """Fingerprints of the firing sources that mute this alert (``status.inhibitedBy``)."""
    rules = tuple(rules)
    return [
        s.fingerprint
        for s in sources
        if s.fingerprint != fingerprint and any(r.inhibits(s.labels, labels) for r in rules)
    ]
