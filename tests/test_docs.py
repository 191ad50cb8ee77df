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
