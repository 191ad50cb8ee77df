"""Checks on the shipped reference data (org tree and hazardous-cargo storage limits).

These read the CSV files directly; no database is needed.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from collector.events import HAZARD_CLASSES

DATA_DIR = Path(__file__).parents[2] / "collector" / "data"
ORG_NODES = DATA_DIR / "org_nodes.csv"
STORAGE_LIMITS = DATA_DIR / "storage_limits.csv"

ORG_HEADER = [
    "node_id",
    "parent_id",
    "level",
    "code",
    "name_en",
    "name_zh",
    "site_type",
    "locode",
    "longitude",
    "latitude",
    "timezone",
    "weight",
]
LIMITS_HEADER = [
    "hazard_class",
    "packing_group",
    "tier",
    "limit_hours",
    "warn_fraction",
    "summer_limit_hours",
    "note",
]
LEVEL_DEPTH = {"national": 0, "customs": 1, "office": 2, "site": 3}
SITE_TYPES = {"SEA", "RIV", "AIR", "LAND", "RAIL", "BZ"}
TIER_HOURS = {"direct": 2.0, "short": 48.0, "medium": 120.0, "long": 240.0}


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


@pytest.fixture(scope="module")
def nodes() -> list[dict[str, str]]:
    header, rows = _read(ORG_NODES)
    assert header == ORG_HEADER
    return rows


@pytest.fixture(scope="module")
def limits() -> list[dict[str, str]]:
    header, rows = _read(STORAGE_LIMITS)
    assert header == LIMITS_HEADER
    return rows


def _by_level(nodes: list[dict[str, str]], level: str) -> list[dict[str, str]]:
    return [n for n in nodes if n["level"] == level]


def _children_count(nodes: list[dict[str, str]], level: str) -> Counter[str]:
    return Counter(n["parent_id"] for n in nodes if n["level"] == level)


# --- org_nodes.csv ----------------------------------------------------------------------------


def test_every_row_has_exactly_the_header_columns() -> None:
    with ORG_NODES.open(encoding="utf-8", newline="") as fh:
        for line_no, row in enumerate(csv.reader(fh), start=1):
            assert len(row) == len(ORG_HEADER), f"line {line_no}: {row}"


def test_there_is_exactly_one_national_centre_without_parent(nodes: list[dict[str, str]]) -> None:
    national = _by_level(nodes, "national")
    assert [n["node_id"] for n in national] == ["CN"]
    assert national[0]["parent_id"] == ""
    assert national[0]["name_zh"] == "海关总署"


def test_there_are_exactly_42_directly_affiliated_customs(nodes: list[dict[str, str]]) -> None:
    customs = _by_level(nodes, "customs")
    assert len(customs) == 42
    for c in customs:
        assert c["parent_id"] == "CN"
        assert len(c["node_id"]) == 4 and c["node_id"].isdigit() and c["node_id"].endswith("00")
        assert c["code"] == c["node_id"]


def test_node_ids_are_unique(nodes: list[dict[str, str]]) -> None:
    dupes = [k for k, v in Counter(n["node_id"] for n in nodes).items() if v > 1]
    assert dupes == []


def test_every_parent_exists_and_comes_before_its_children(nodes: list[dict[str, str]]) -> None:
    seen: set[str] = set()
    for n in nodes:
        if n["parent_id"]:
            assert n["parent_id"] in seen, f"{n['node_id']} before its parent {n['parent_id']}"
        seen.add(n["node_id"])


def test_levels_nest_national_customs_office_site(nodes: list[dict[str, str]]) -> None:
    level_of = {n["node_id"]: n["level"] for n in nodes}
    for n in nodes:
        assert n["level"] in LEVEL_DEPTH
        if n["level"] == "national":
            continue
        parent_level = level_of[n["parent_id"]]
        assert LEVEL_DEPTH[parent_level] == LEVEL_DEPTH[n["level"]] - 1, n["node_id"]


def test_office_codes_belong_to_their_customs(nodes: list[dict[str, str]]) -> None:
    for office in _by_level(nodes, "office"):
        oid = office["node_id"]
        assert len(oid) == 4 and oid.isdigit() and not oid.endswith("00"), oid
        assert office["parent_id"] == oid[:2] + "00"


def test_site_ids_start_with_their_office_code(nodes: list[dict[str, str]]) -> None:
    for site in _by_level(nodes, "site"):
        assert site["node_id"].startswith(site["parent_id"] + "-"), site["node_id"]


def test_office_count_is_in_the_planned_range(nodes: list[dict[str, str]]) -> None:
    assert 90 <= len(_by_level(nodes, "office")) <= 110


def test_there_are_at_least_130_sites(nodes: list[dict[str, str]]) -> None:
    assert len(_by_level(nodes, "site")) >= 130


def test_every_customs_has_at_least_one_office(nodes: list[dict[str, str]]) -> None:
    offices_per_customs = _children_count(nodes, "office")
    missing = [
        c["node_id"] for c in _by_level(nodes, "customs") if not offices_per_customs[c["node_id"]]
    ]
    assert missing == []


def test_every_office_has_at_least_one_site(nodes: list[dict[str, str]]) -> None:
    sites_per_office = _children_count(nodes, "site")
    missing = [
        o["node_id"] for o in _by_level(nodes, "office") if not sites_per_office[o["node_id"]]
    ]
    assert missing == []


def test_every_customs_has_at_least_one_site(nodes: list[dict[str, str]]) -> None:
    parent_of = {n["node_id"]: n["parent_id"] for n in nodes}
    customs_with_sites = {parent_of[s["parent_id"]] for s in _by_level(nodes, "site")}
    missing = [
        c["node_id"] for c in _by_level(nodes, "customs") if c["node_id"] not in customs_with_sites
    ]
    assert missing == []


def test_site_types_are_valid_and_only_set_on_sites(nodes: list[dict[str, str]]) -> None:
    for n in nodes:
        if n["level"] == "site":
            assert n["site_type"] in SITE_TYPES, n["node_id"]
        else:
            assert n["site_type"] == "", n["node_id"]


def test_locodes_are_unlocode_for_ports_and_iata_for_airports(nodes: list[dict[str, str]]) -> None:
    for s in _by_level(nodes, "site"):
        code = s["locode"]
        if s["site_type"] == "AIR":
            assert len(code) == 3 and code.isalpha() and code.isupper(), s["node_id"]
        elif code:
            assert s["site_type"] in {"SEA", "RIV"}, s["node_id"]
            assert len(code) == 5 and code.startswith("CN") and code.isupper(), s["node_id"]


def test_coordinates_are_inside_china_bounding_box(nodes: list[dict[str, str]]) -> None:
    for n in nodes:
        lon, lat = float(n["longitude"]), float(n["latitude"])
        assert 73.0 <= lon <= 135.0, n["node_id"]
        assert 18.0 <= lat <= 54.0, n["node_id"]


def test_timezones_are_urumqi_in_xinjiang_and_shanghai_elsewhere(
    nodes: list[dict[str, str]],
) -> None:
    for n in nodes:
        expected = "Asia/Urumqi" if n["node_id"].startswith("94") else "Asia/Shanghai"
        assert n["timezone"] == expected, n["node_id"]


def test_site_weights_are_positive_and_total_about_20000(nodes: list[dict[str, str]]) -> None:
    weights = [float(s["weight"]) for s in _by_level(nodes, "site")]
    assert all(w > 0 for w in weights)
    assert 15000 <= sum(weights) <= 25000


def test_biggest_seaports_outweigh_airports_and_land_crossings(
    nodes: list[dict[str, str]],
) -> None:
    weight = {s["node_id"]: float(s["weight"]) for s in _by_level(nodes, "site")}
    for big in ("2201-YANGSHAN", "3101-BEILUN", "4202-QIANWAN", "5316-YANTIAN"):
        assert weight[big] > weight["2203-PVG"] > weight["5301-HUANGGANG"]


def test_the_three_news_story_offices_exist_with_sites(nodes: list[dict[str, str]]) -> None:
    offices = {o["name_zh"]: o for o in _by_level(nodes, "office")}
    sites_per_office = _children_count(nodes, "site")
    expected_parent = {"蛇口海关": "5300", "沙湾海关": "5300", "东江口海关": "5200"}
    for name_zh, parent in expected_parent.items():
        assert name_zh in offices, name_zh
        assert offices[name_zh]["parent_id"] == parent
        assert sites_per_office[offices[name_zh]["node_id"]] >= 1
    assert offices["蛇口海关"]["node_id"] == "5304"
    assert offices["沙湾海关"]["node_id"] == "5340"


def test_fields_contain_no_commas_or_quotes() -> None:
    text = ORG_NODES.read_text(encoding="utf-8")
    for line in text.splitlines():
        assert line.count(",") == len(ORG_HEADER) - 1
        assert '"' not in line


# --- storage_limits.csv -----------------------------------------------------------------------


def test_every_imdg_class_1_to_9_has_a_storage_limit_row(limits: list[dict[str, str]]) -> None:
    classes = {r["hazard_class"].split(".")[0] for r in limits}
    assert classes == {str(i) for i in range(1, 10)}


def test_storage_limit_hazard_classes_are_valid_imdg_divisions(
    limits: list[dict[str, str]],
) -> None:
    assert {r["hazard_class"] for r in limits} == HAZARD_CLASSES


def test_each_class_and_packing_group_appears_once(limits: list[dict[str, str]]) -> None:
    keys = Counter((r["hazard_class"], r["packing_group"]) for r in limits)
    assert [k for k, v in keys.items() if v > 1] == []
    for r in limits:
        assert r["packing_group"] in {"", "I", "II", "III"}


def test_a_class_is_either_split_by_packing_group_or_not(limits: list[dict[str, str]]) -> None:
    groups: dict[str, set[str]] = {}
    for r in limits:
        groups.setdefault(r["hazard_class"], set()).add(r["packing_group"])
    for cls, pgs in groups.items():
        assert pgs == {""} or pgs == {"I", "II", "III"}, cls


def test_tier_limits_and_warn_fractions_follow_the_defaults(limits: list[dict[str, str]]) -> None:
    for r in limits:
        assert float(r["limit_hours"]) == TIER_HOURS[r["tier"]]
        assert float(r["warn_fraction"]) == (0.5 if r["tier"] == "direct" else 0.7)


def test_summer_limits_only_tighten_classes_2_and_3(limits: list[dict[str, str]]) -> None:
    for r in limits:
        if r["summer_limit_hours"]:
            assert r["hazard_class"].split(".")[0] in {"2", "3"}
            assert 0 < float(r["summer_limit_hours"]) < float(r["limit_hours"])
    summer = {r["hazard_class"]: r["summer_limit_hours"] for r in limits}
    assert float(summer["2.3"]) == TIER_HOURS["direct"]


def test_explosives_1_1_and_1_2_are_direct_only(limits: list[dict[str, str]]) -> None:
    tier = {(r["hazard_class"], r["packing_group"]): r["tier"] for r in limits}
    assert tier[("1.1", "")] == "direct"
    assert tier[("1.2", "")] == "direct"
    assert tier[("6.1", "I")] == "short"
    assert tier[("8", "III")] == "long"
