"""docs/rules.md agrees with the code: every rule kind, its fields and defaults, an example
that parses, and the shipped default rules (alerter/rules/kinds.py, alerter/data/)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from alerter.rules.kinds import KINDS, parse_rule

ROOT = Path(__file__).resolve().parent.parent
PAGE = (ROOT / "docs" / "rules.md").read_text()
# The smallest body of each kind: its required fields.
REQUIRED = {
    "threshold": {"indicator": "i", "threshold": 1},
    "forecast": {"indicator": "i", "threshold": 1, "horizon_hours": 6},
    "deadline": {"hours_before": 1},
    "no_data": {"minutes": 5},
}
ROW = re.compile(r"^\| `([^`]+)` \| ([^|]+) \|", re.M)


def _section(heading: str) -> str:
    parts = re.split(r"^## ", PAGE, flags=re.M)
    found = [p for p in parts if p.split("\n", 1)[0].strip() == heading]
    assert found, f"docs/rules.md has no section ## {heading}"
    return found[0]


def _documented_defaults(heading: str) -> dict[str, str]:
    return {name: default.strip().strip("`") for name, default in ROW.findall(_section(heading))}


def _code_defaults(kind: str) -> dict[str, str]:
    spec = parse_rule({"name": "x", "kind": kind, **REQUIRED[kind]}).as_spec()
    model = type(parse_rule({"name": "x", "kind": kind, **REQUIRED[kind]}))
    return {
        (f.alias or name): "required"
        if f.is_required()
        else json.dumps(spec[f.alias or name], ensure_ascii=False)
        for name, f in model.model_fields.items()
    }


def test_the_page_documents_exactly_the_rule_kinds_of_the_code():
    headings = set(re.findall(r"^## ([a-z_]+)$", PAGE, re.M))
    assert headings == set(KINDS)


def test_the_kinds_are_the_ones_of_the_model_union():
    assert set(REQUIRED) == set(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_documents_every_field_with_the_codes_default(kind):
    documented = {**_documented_defaults("Fields every kind has"), **_documented_defaults(kind)}
    assert documented == _code_defaults(kind)


@pytest.mark.parametrize("kind", KINDS)
def test_each_kinds_example_is_a_valid_rule_of_that_kind(kind):
    example = re.search(r"```json\n(.*?)```", _section(kind), re.S)
    assert example, f"no example for {kind}"
    assert parse_rule(json.loads(example[1])).kind == kind


def test_the_shipped_defaults_are_listed_with_their_kind_value_and_policy():
    shipped = yaml.safe_load((ROOT / "alerter" / "data" / "default_rules.yaml").read_text())
    rules = [parse_rule(spec) for spec in shipped["rules"]]
    expected = {(r.name, r.kind, f"{r.tunable_value:g}", r.override_policy) for r in rules}
    rows = re.findall(
        r"^\| `([^`]+)` \| (\w+) \| ([\d.]+) \| (\w+) \|$", _section("Shipped defaults"), re.M
    )
    assert set(rows) == expected
