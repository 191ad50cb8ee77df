"""Rule evaluation at national scale: 47 rules over every site (10,105 rule x series pairs).

Target: one evaluate_all cycle under 1 s. Three figures: the first cycle (about 5 % of the pairs
breach, so it writes that many instances, history rows and outbox rows), the steady cycle
(the same values again: every firing instance is updated, nothing is announced) and a cycle
after a tenth of the values changed. Overrides at ten customs exercise the inheritance path.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text

from alerter.evaluation.step import evaluate_all
from alerter.rules import store
from alerter.rules.inheritance import Override
from alerter.rules.kinds import parse_rule
from alerter.rules.reads import get_rule
from bench.common import bench_server, median, seeded_database, timed
from quaywatch.settings import Settings

RULES_PER_INDICATOR = (2, 1)  # the first 11 indicators get two rules, the other 25 one: 47
TARGET_S = 1.0


def _rules(engine: Engine, indicators: list[str]) -> int:
    actor = store.Actor("bench")
    count = 0
    with engine.begin() as conn:
        for position, code in enumerate(indicators):
            for variant in range(RULES_PER_INDICATOR[0] if position < 11 else 1):
                spec = {
                    "name": f"bench_{code}_{variant}",
                    "kind": "threshold",
                    "indicator": code,
                    "operator": ">",
                    "threshold": 95.0 - 10 * variant,
                    "recovery_threshold": 90.0 - 10 * variant,
                    "for": "1m",
                }
                stored = store.create_rule(conn, parse_rule(spec), actor)
                count += 1
                if position % 4 == 0:
                    _overrides(conn, stored.rule_id, actor)
    return count


def _overrides(conn: Any, rule_id: int, actor: store.Actor) -> None:
    stored = get_rule(conn, rule_id)
    assert stored is not None
    customs = conn.execute(
        text("SELECT node_id FROM org_node WHERE level = 'customs' ORDER BY node_id LIMIT 10")
    ).scalars()
    for node_id in customs:
        tighter = float(stored.spec["threshold"]) - 2
        store.put_override(conn, stored, Override(node_id, ("CN", node_id), tighter), actor)


def _values(engine: Engine, at: datetime, seed: int, share: float = 1.0) -> None:
    """Latest values for every site series: uniform 0..100, so about 5 % pass 95."""
    rng = random.Random(seed)
    with engine.begin() as conn:
        ids = (
            conn.execute(
                text(
                    "SELECT s.series_id FROM series s JOIN org_node n USING (node_id)"
                    " WHERE n.level = 'site' ORDER BY s.series_id"
                )
            )
            .scalars()
            .all()
        )
        chosen = [i for i in ids if rng.random() < share]
        rows = [{"s": i, "t": at, "v": rng.uniform(0, 100)} for i in chosen]
        conn.execute(
            text(
                "INSERT INTO series_latest (series_id, time, value) VALUES (:s, :t, :v)"
                " ON CONFLICT (series_id) DO UPDATE SET time = EXCLUDED.time,"
                " value = EXCLUDED.value"
            ),
            rows,
        )


def run(steady_cycles: int = 5) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0)
    with bench_server() as server:
        name, engine = seeded_database(server)
        settings = Settings(database_url=str(engine.url.render_as_string(hide_password=False)))
        with engine.connect() as conn:
            indicators = conn.execute(text("SELECT code FROM indicator ORDER BY code")).scalars()
            codes = list(indicators)
            sites = conn.execute(text("SELECT count(*) FROM org_node WHERE level = 'site'"))
            site_count = int(sites.scalar_one())
        rules = _rules(engine, codes)
        _values(engine, now, seed=1)
        evaluate_all(engine, settings, now - timedelta(minutes=1))  # warm caches and plans
        first_s, first = timed(lambda: evaluate_all(engine, settings, now))
        steady = [
            timed(lambda: evaluate_all(engine, settings, now))[0] for _ in range(steady_cycles)
        ]
        _values(engine, now + timedelta(minutes=1), seed=2, share=0.1)
        changed_s, changed = timed(
            lambda: evaluate_all(engine, settings, now + timedelta(minutes=1))
        )
        engine.dispose()
    steady_s = median(steady)
    return {
        "rules": rules,
        "sites": site_count,
        "pairs": first.series,
        "first_cycle_s": round(first_s, 3),
        "first_cycle_transitions": first.transitions,
        "steady_cycle_s": round(steady_s, 3),
        "steady_cycle_min_s": round(min(steady), 3),
        "changed_cycle_s": round(changed_s, 3),
        "changed_cycle_transitions": changed.transitions,
        "firing_instances": changed.instances,
        "outbox_rows_first_cycles": first.notifications + changed.notifications,
        "target_s": TARGET_S,
        "ok": max(first_s, steady_s, changed_s) < TARGET_S,
    }
