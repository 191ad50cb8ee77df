"""Codes below the nation carry their owner's namespace; a national code carries none."""

from __future__ import annotations

import csv
from importlib import resources

from collector.indicators.namespace import code_problem, namespace


def test_a_nodes_namespace_is_its_lower_case_id_after_n_and_before_a_double_underscore():
    assert namespace("2300") == "n2300__"
    assert namespace("2301-LONGTAN") == "n2301_longtan__"


def test_no_namespace_of_the_reference_tree_starts_another():
    path = resources.files("collector").joinpath("data/org_nodes.csv")
    with path.open(encoding="utf-8") as rows:
        nodes = [row["node_id"] for row in csv.DictReader(rows) if row["node_id"] != "CN"]
    prefixes = sorted(namespace(node) for node in nodes)
    assert len(set(prefixes)) == len(nodes)
    assert not any(b.startswith(a) for a, b in zip(prefixes, prefixes[1:], strict=False))


def test_an_owner_below_the_nation_may_create_only_codes_in_its_namespace():
    assert code_problem("n2300__river_gate_in", "2300") is None
    assert code_problem("river_gate_in", "2300") is not None
    assert code_problem("n2301__river_gate_in", "2300") is not None  # its office's namespace
    assert code_problem("n2300__", "2300") is not None


def test_a_national_code_is_in_no_namespace():
    assert code_problem("river_gate_in", "CN") is None
    assert code_problem("n2300__river_gate_in", "CN") is not None
