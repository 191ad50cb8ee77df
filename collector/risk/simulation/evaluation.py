"""Precision and recall per anomaly kind, from the flags stored for a simulated run.

Flags are read the way a reviewer reads them: a unit-value flag below the reference says
undervalued, above it overvalued; net over gross, or a value-per-kg flag while the unit value is
normal, says the weight is implausible; the other features name their kind directly. For each
kind, precision is the share of evaluated declarations read as that kind that were injected as
it, and recall the share of injected ones that were read as it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from collector.risk.simulation.simulator import KINDS, SimRun

_DIRECT = {
    "new_trader": "new_trader",
    "pattern_change": "pattern_change",
    "amendments": "frequent_amendments",
    "new_origin": "new_origin",
    "net_over_gross": "implausible_weight",
}


@dataclass(frozen=True)
class KindScore:
    kind: str
    injected: int
    flagged: int
    hits: int

    @property
    def precision(self) -> float | None:
        return self.hits / self.flagged if self.flagged else None

    @property
    def recall(self) -> float | None:
        return self.hits / self.injected if self.injected else None

    def as_dict(self) -> dict[str, Any]:
        def rounded(x: float | None) -> float | None:
            return None if x is None else round(x, 3)

        return {
            "kind": self.kind,
            "injected": self.injected,
            "flagged": self.flagged,
            "hits": self.hits,
            "precision": rounded(self.precision),
            "recall": rounded(self.recall),
        }


def read_kinds(flags: list[tuple[str, str, float | None, float | None]]) -> dict[str, set[str]]:
    """Declaration ids per kind, from (declaration_id, feature, observed, expected) flags."""
    by_id: dict[str, dict[str, tuple[float | None, float | None]]] = defaultdict(dict)
    for ident, feature, observed, expected in flags:
        by_id[ident][feature] = (observed, expected)
    kinds: dict[str, set[str]] = defaultdict(set)
    for ident, features in by_id.items():
        for feature, kind in _DIRECT.items():
            if feature in features:
                kinds[kind].add(ident)
        if "unit_value" in features:
            observed, expected = features["unit_value"]
            below = observed is not None and expected is not None and observed < expected
            kinds["undervalued" if below else "overvalued"].add(ident)
        elif "value_per_kg" in features:
            kinds["implausible_weight"].add(ident)
    return kinds


# Rule flags are the operators' own; the score is of the statistical screens alone.
_FEATURE_FLAGS = text(
    "SELECT declaration_id, feature, observed, expected FROM risk_flag"
    " WHERE feature <> 'rule' AND declaration_id = ANY (:ids)"
)


def evaluate(conn: Connection, run: SimRun) -> list[KindScore]:
    rows = conn.execute(_FEATURE_FLAGS, {"ids": sorted(run.evaluated)}).all()
    read = read_kinds([(r[0], r[1], r[2], r[3]) for r in rows])
    scores = []
    for kind in KINDS:
        truth = {ident for ident, label in run.labels.items() if label == kind}
        flagged = read.get(kind, set())
        scores.append(KindScore(kind, len(truth), len(flagged), len(flagged & truth)))
    return scores


def false_flag_rate(conn: Connection, run: SimRun) -> float:
    """Share of the evaluated normal declarations that were flagged by any feature."""
    normal = sorted(run.evaluated - set(run.labels))
    flagged = conn.execute(
        text(
            "SELECT count(DISTINCT declaration_id) FROM risk_flag"
            " WHERE feature <> 'rule' AND declaration_id = ANY (:ids)"
        ),
        {"ids": normal},
    ).scalar()
    return int(flagged or 0) / len(normal) if normal else 0.0
