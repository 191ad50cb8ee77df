"""Docs are part of done: settings, indicators and the two commands are documented."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from quaywatch.settings import SETTINGS

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_documented_in_the_configuration_page():
    page = (ROOT / "docs" / "configuration.md").read_text()
    missing = [s.name for s in SETTINGS if f"`{s.name}`" not in page]
    assert not missing


def test_the_indicator_page_is_fresh():
    spec = importlib.util.spec_from_file_location("build_docs", ROOT / "scripts" / "build_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / "docs" / "indicators.md").read_text() == module.indicators_markdown(), (
        "run `python scripts/build_docs.py`"
    )


def test_the_readme_shows_the_two_commands_first():
    readme = (ROOT / "README.md").read_text()
    first_section = readme.split("## ")[1]
    assert "make run" in first_section and "make test" in first_section


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def _documents() -> dict[str, str]:
    pages = {p.name: p.read_text() for p in (ROOT / "docs").glob("*.md")}
    return {**pages, "README.md": (ROOT / "README.md").read_text()}


def test_every_variable_the_docs_name_exists_in_the_settings_or_compose():
    import re

    known = {s.name for s in SETTINGS} | {f"{s.name}_FILE" for s in SETTINGS}
    known.add("QUAYWATCH_CONFIG")  # the settings file itself, read by load_settings
    known |= set(re.findall(r"\b[A-Z][A-Z0-9_]+\b", (ROOT / "compose.yaml").read_text()))
    known |= set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    named = {
        (page, name)
        for page, text in _documents().items()
        for name in re.findall(r"\b((?:QUAYWATCH|GF|GRAFANA)_[A-Z0-9_]+)", text)
    }
    assert not sorted((page, name) for page, name in named if name not in known)


def test_the_documented_indicator_count_is_the_catalogue_size():
    import re

    from collector.metric_definitions import INDICATORS

    for page in ("deploy.md", "README.md"):
        for count in re.findall(r"\b(\d+) indicators\b", _documents()[page]):
            assert int(count) == len(INDICATORS), page


def test_the_documented_deadline_rule_setting_is_the_shipped_one():
    import re

    import yaml

    shipped = yaml.safe_load((ROOT / "alerter" / "data" / "default_rules.yaml").read_text())
    [rule] = [r for r in shipped["rules"] if r["name"] == "hazardous_deadline_12h"]
    page = _documents()["forecasting.md"]
    stated = re.search(r"`hazardous_deadline_12h` uses `min_breach_probability: ([0-9.]+)`", page)
    assert stated and float(stated.group(1)) == rule["min_breach_probability"]


def test_the_documented_candidate_counts_are_the_backtests():
    import re

    from forecaster.backtest.report import _modes
    from forecaster.crossings.decision import BLEND, CANDIDATES, SEASONAL_NAIVE

    page = _documents()["forecasting.md"]
    rules, modes = len(CANDIDATES), len(_modes({"csv_path": "series.csv"}))
    assert f"the {rules * len(BLEND)} blend rules" in page
    # Prophet's rules in each mode, each of them with each naive agreeing, the blends (first
    # mode only) and the naives themselves
    per_csv = modes * rules * (1 + len(SEASONAL_NAIVE)) + len(BLEND) * rules + len(SEASONAL_NAIVE)
    assert [int(n) for n in re.findall(r"(\d+)\s+candidates per series", page)] == [per_csv]
