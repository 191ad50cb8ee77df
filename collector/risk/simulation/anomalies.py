"""The anomalies the risk simulator injects, one function per kind.

Each injection changes only what its kind is about, and avoids creating another kind by
accident: a new trader declares a product and origin already usual at the site; a pattern
change takes a chapter new to the trader from a colleague at the same site (so the site knows
the HS code and origin); a new origin is never seen for an HS-6 code established at the site,
and one the trader already buys elsewhere when it can be (so the trader's pattern holds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from collector.risk.simulation.simulator import KINDS, ORIGINS, SimDeclaration, SimRun, Trader

if TYPE_CHECKING:
    from collector.risk.simulation.simulator import _World

_TRIES = 20
ESTABLISHED = 50


def _undervalued(world: _World, trader: Trader, at: datetime) -> SimDeclaration | None:
    d = world.declaration(trader, at)
    return replace(d, declared_value=round(d.declared_value * world.rng.uniform(0.04, 0.2), 2))


def _overvalued(world: _World, trader: Trader, at: datetime) -> SimDeclaration | None:
    d = world.declaration(trader, at)
    return replace(d, declared_value=round(d.declared_value * world.rng.uniform(6, 25), 2))


def _implausible_weight(world: _World, trader: Trader, at: datetime) -> SimDeclaration | None:
    d = world.declaration(trader, at)
    variant = world.rng.randrange(3)
    if variant == 2:  # net weight above gross weight
        return replace(d, net_kg=round(d.gross_kg * world.rng.uniform(1.2, 2.0), 3))
    factor = world.rng.uniform(8, 25) ** (1 if variant == 0 else -1)
    return replace(d, net_kg=round(d.net_kg * factor, 3), gross_kg=round(d.gross_kg * factor, 3))


def _new_trader(world: _World, trader: Trader, at: datetime) -> SimDeclaration | None:
    newcomer = replace(trader, trader_id=f"NEW{world.count + 1:08d}")
    return world.declaration(newcomer, at)


def _pattern_change(world: _World, trader: Trader, at: datetime) -> SimDeclaration | None:
    chapters = {p.hs_code[:2] for p, _ in trader.lines}
    for _ in range(_TRIES):
        other = world.rng.choice(world.traders)
        shared = set(other.sites) & set(trader.sites)
        lines = [line for line in other.lines if line[0].hs_code[:2] not in chapters]
        if shared and lines:
            return world.declaration(trader, at, world.rng.choice(lines), min(shared))
    return None


def _new_origin(world: _World, trader: Trader, at: datetime) -> SimDeclaration | None:
    """An origin never declared for the HS-6 code at the site, where that code is established
    (ESTABLISHED declarations so far); preferably one the trader already buys elsewhere."""
    own = sorted({o for _, o in trader.lines})
    for _ in range(_TRIES):
        product, _ = world.rng.choice(trader.lines)
        site = world.rng.choice(trader.sites)
        hs6 = product.hs_code[:6]
        if world.site_hs[site, hs6] < ESTABLISHED:
            continue
        fresh = [o for o in own + list(ORIGINS) if not world.site_hs_origin[site, hs6, o]]
        if fresh:
            return world.declaration(trader, at, (product, fresh[0]), site)
    return None


INJECTIONS: dict[str, Callable[[_World, Trader, datetime], SimDeclaration | None]] = {
    "undervalued": _undervalued,
    "overvalued": _overvalued,
    "implausible_weight": _implausible_weight,
    "new_trader": _new_trader,
    "pattern_change": _pattern_change,
    "new_origin": _new_origin,
}
assert set(INJECTIONS) | {"frequent_amendments"} == set(KINDS)


def amenders(world: _World) -> set[str]:
    """Traders that amend most of their declarations in the evaluation window."""
    busy = sorted(world.traders, key=lambda t: t.activity)[len(world.traders) // 2 :]
    rng = world.rng
    return {t.trader_id for t in rng.sample(busy, min(world.cfg.amenders, len(busy)))}


def inject(world: _World, trader: Trader, at: datetime, run: SimRun) -> SimDeclaration:
    """A declaration of `trader` at `at`: an injected anomaly at the configured rate per kind
    (its label recorded in `run`), else a normal one."""
    if trader.trader_id in world.amender_ids:
        d = world.declaration(trader, at)
        if world.rng.random() < 0.6:
            world.amend(d, world.rng.randint(1, 3))
            run.labels[d.declaration_id] = "frequent_amendments"
        return d
    pick = int(world.rng.random() / world.cfg.anomaly_rate)
    kinds = list(INJECTIONS)
    if pick < len(kinds):
        injected = INJECTIONS[kinds[pick]](world, trader, at)
        if injected is not None:
            run.labels[injected.declaration_id] = kinds[pick]
            return injected
    return world.declaration(trader, at)
