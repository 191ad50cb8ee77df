"""Simulated declarations with injected anomalies of each kind and their ground-truth labels.

A deterministic world (seeded): a catalogue of HS-8 products with a unit, a price per origin and
a weight per unit; traders, each with home sites, a few products from one or two HS chapters
and the origins it buys them from. A warm-up first declares every trader x product x origin x
site once (so normal traffic holds no novelty), then random traffic builds the references. The
evaluation window then mixes normal declarations with anomalies injected at `anomaly_rate` per
kind; `labels` maps each injected declaration id to its kind (see evaluation.py).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

KINDS = (
    "undervalued",
    "overvalued",
    "implausible_weight",
    "new_trader",
    "pattern_change",
    "frequent_amendments",
    "new_origin",
)
SITES = (
    "4202-QIANWAN",
    "2201-YANGSHAN",
    "3101-BEILUN",
    "5101-NANSHA",
    "5316-YANTIAN",
    "0202-XINGANG",
    "5304-SHEKOU",
    "5304-CHIWAN",
)
ORIGINS = ("US", "DE", "JP", "KR", "VN", "TH", "MY", "AU", "BR", "NZ", "CA", "FR", "IT", "IN")
# Chapters with a typical statutory unit: meat, fish, fruit, beverages, fuels, organics,
# plastics, wood, garments, steel, machinery, electronics, vehicles, instruments, furniture.
CHAPTERS = (
    ("02", "KG"), ("03", "KG"), ("08", "KG"), ("22", "L"), ("27", "KG"), ("29", "KG"),
    ("39", "KG"), ("44", "KG"), ("61", "PCS"), ("72", "KG"), ("84", "SET"), ("85", "PCS"),
    ("87", "PCS"), ("90", "PCS"), ("94", "PCS"),
)  # fmt: skip
RATES = {"USD": 7.10, "EUR": 7.75, "JPY": 0.047, "HKD": 0.91}


@dataclass(frozen=True)
class RiskSimConfig:
    seed: int = 11
    sites: tuple[str, ...] = SITES
    traders: int = 300
    products: int = 60
    warmup: int = 15_000
    declarations: int = 8_000  # the evaluation window
    anomaly_rate: float = 0.01  # per kind, in the evaluation window
    amenders: int = 4  # traders that amend often in the evaluation window
    normal_amend_rate: float = 0.01
    span: timedelta = timedelta(days=6)


@dataclass(frozen=True)
class Product:
    hs_code: str
    unit: str
    price: float  # CNY per unit, before the origin factor
    kg_per_unit: float
    origins: tuple[str, ...]


@dataclass(frozen=True)
class Trader:
    trader_id: str
    sites: tuple[str, ...]
    lines: tuple[tuple[Product, str], ...]  # (product, origin) it declares
    currency: str
    activity: float


@dataclass(frozen=True)
class SimDeclaration:
    """One declaration (or amendment) as sent, and when it arrives."""

    arrival: datetime
    declaration_id: str
    declared_at: datetime
    site_id: str
    trader_id: str
    hs_code: str
    origin: str
    declared_value: float
    currency: str
    quantity: float
    unit: str
    gross_kg: float
    net_kg: float
    amendment_no: int = 0

    def as_json(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "arrival"}
        out["declared_at"] = self.declared_at.isoformat()
        out["transport_mode"] = "sea"
        return out

    def as_row(self, source: str, received_at: datetime) -> tuple[Any, ...]:
        """The row collector.risk.store copies (as Declaration.as_row makes it)."""
        value_cny = self.declared_value * RATES[self.currency]
        return (
            self.declaration_id, self.declared_at, received_at, self.site_id, self.trader_id,
            self.hs_code, self.origin, "import", self.declared_value, self.currency, value_cny,
            self.quantity, self.unit, self.gross_kg, self.net_kg, "sea", self.amendment_no,
            self.arrival if self.amendment_no else None, source,
        )  # fmt: skip


@dataclass
class SimRun:
    items: list[SimDeclaration]  # sorted by arrival
    labels: dict[str, str]  # declaration id -> injected kind
    evaluated: set[str] = field(default_factory=set)  # ids in the evaluation window


def _catalogue(rng: random.Random, n: int) -> list[Product]:
    products: list[Product] = []
    for i in range(n):
        chapter, unit = CHAPTERS[i % len(CHAPTERS)]
        # Every fifth product is a sibling tariff line of the one before (same HS-6).
        stem = products[-1].hs_code[:6] if i % 5 == 4 else f"{chapter}{rng.randrange(10**4):04d}"
        origins = tuple(rng.sample(ORIGINS, rng.randint(2, 4)))
        price = rng.lognormvariate(4, 1.5)
        products.append(
            Product(f"{stem}{i % 100:02d}", unit, price, rng.lognormvariate(0, 1), origins)
        )
    return products


def _trader(rng: random.Random, n: int, products: list[Product], sites: tuple[str, ...]) -> Trader:
    chapters = rng.sample(sorted({p.hs_code[:2] for p in products}), rng.randint(1, 2))
    mine = [p for p in products if p.hs_code[:2] in chapters]
    chosen = rng.sample(mine, min(len(mine), rng.randint(2, 4)))
    lines = tuple((p, o) for p in chosen for o in rng.sample(p.origins, rng.randint(1, 2)))
    return Trader(
        f"91{n:08d}",
        tuple(rng.sample(sites, rng.randint(1, 2))),
        lines,
        rng.choices(list(RATES), weights=(80, 10, 5, 5))[0],
        rng.lognormvariate(0, 0.7),
    )


class _World:
    def __init__(self, cfg: RiskSimConfig, end: datetime) -> None:
        self.cfg = cfg
        self.rng = random.Random(cfg.seed)
        self.products = _catalogue(self.rng, cfg.products)
        self.traders = [_trader(self.rng, n, self.products, cfg.sites) for n in range(cfg.traders)]
        self.factor = {
            (p.hs_code, o): self.rng.uniform(0.7, 1.3) for p in self.products for o in ORIGINS
        }
        self.start = end - cfg.span
        self.end = end
        self.count = 0
        self.items: list[SimDeclaration] = []
        self.amender_ids: set[str] = set()
        # Declarations so far per (site, HS-6) and (site, HS-6, origin): what "new" means.
        self.site_hs: Counter[tuple[str, str]] = Counter()
        self.site_hs_origin: Counter[tuple[str, str, str]] = Counter()

    def declaration(self, trader: Trader, at: datetime, line: tuple[Product, str] | None = None,
                    site: str | None = None) -> SimDeclaration:  # fmt: skip
        rng = self.rng
        product, origin = line or rng.choice(trader.lines)
        quantity = round(rng.lognormvariate(5, 1), 1) + 1
        value_cny = quantity * product.price * self.factor[product.hs_code, origin]
        value_cny *= rng.lognormvariate(0, 0.25)
        net = quantity * product.kg_per_unit * rng.lognormvariate(0, 0.1)
        self.count += 1
        site = site or rng.choice(trader.sites)
        self.site_hs[site, product.hs_code[:6]] += 1
        self.site_hs_origin[site, product.hs_code[:6], origin] += 1
        return SimDeclaration(
            at + timedelta(seconds=rng.uniform(1, 30)),
            f"SIM{self.cfg.seed}-{self.count:08d}",
            at,
            site,
            trader.trader_id,
            product.hs_code,
            origin,
            round(value_cny / RATES[trader.currency], 2),
            trader.currency,
            quantity,
            product.unit,
            round(net * rng.uniform(1.03, 1.15), 3),
            round(net, 3),
        )

    def amend(self, d: SimDeclaration, times: int) -> None:
        for k in range(1, times + 1):
            value = round(d.declared_value * self.rng.uniform(0.95, 1.05), 2)
            at = d.arrival + timedelta(minutes=k * self.rng.uniform(10, 120))
            self.items.append(replace(d, arrival=at, amendment_no=k, declared_value=value))


def _times(rng: random.Random, n: int, start: datetime, end: datetime) -> list[datetime]:
    span = (end - start).total_seconds()
    return sorted(start + timedelta(seconds=rng.uniform(0, span)) for _ in range(n))


def _registration(world: _World, start: datetime, end: datetime) -> None:
    """Every trader declares each of its lines at each of its sites once."""
    lines = [(t, line, site) for t in world.traders for line in t.lines for site in t.sites]
    for at, (trader, line, site) in zip(
        _times(world.rng, len(lines), start, end), lines, strict=True
    ):
        world.items.append(world.declaration(trader, at, line, site))


def _traffic(world: _World, times: list[datetime], run: SimRun | None) -> None:
    """Declarations at `times`; with a run, anomalies are injected and labelled in it."""
    from collector.risk.simulation.anomalies import inject

    weights = [t.activity for t in world.traders]
    for at in times:
        trader = world.rng.choices(world.traders, weights)[0]
        item = inject(world, trader, at, run) if run else world.declaration(trader, at)
        world.items.append(item)
        if run:
            run.evaluated.add(item.declaration_id)
        labelled = run is not None and item.declaration_id in run.labels
        if not labelled and world.rng.random() < world.cfg.normal_amend_rate:
            world.amend(item, 1)


def _drain(world: _World) -> list[SimDeclaration]:
    items = sorted(world.items, key=lambda d: (d.arrival, d.amendment_no))
    world.items = []
    return items


def generate(cfg: RiskSimConfig = RiskSimConfig(), end: datetime | None = None) -> SimRun:
    """The whole run: warm-up, then the evaluation window with labelled anomalies."""
    from collector.risk.simulation.anomalies import amenders

    world = _World(cfg, end or datetime.now(UTC).replace(microsecond=0) - timedelta(hours=8))
    split = world.start + cfg.span * 0.6
    _registration(world, world.start, world.start + cfg.span * 0.1)
    _traffic(world, _times(world.rng, cfg.warmup, world.start + cfg.span * 0.1, split), None)
    world.amender_ids = amenders(world)
    run = SimRun([], {})
    _traffic(world, _times(world.rng, cfg.declarations, split, world.end), run)
    run.items = _drain(world)
    return run


def stream(
    cfg: RiskSimConfig, end: datetime | None = None, chunk: int = 20_000
) -> Iterator[SimRun]:
    """A run too big to hold, in time order: the registration pass, then `cfg.declarations`
    declarations over the span in chunks of `chunk`, each chunk a SimRun with its labels."""
    from collector.risk.simulation.anomalies import amenders

    world = _World(cfg, end or datetime.now(UTC).replace(microsecond=0) - timedelta(hours=8))
    first = world.start + cfg.span * 0.05
    _registration(world, world.start, first)
    yield SimRun(_drain(world), {})
    world.amender_ids = amenders(world)
    parts = max(1, cfg.declarations // chunk)
    step = (world.end - first) / parts
    for n in range(parts):
        run = SimRun([], {})
        _traffic(world, _times(world.rng, chunk, first + n * step, first + (n + 1) * step), run)
        run.items = _drain(world)
        yield run
