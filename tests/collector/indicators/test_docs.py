from __future__ import annotations

import importlib.util
from pathlib import Path

from collector.indicators.spec import Filters, IndicatorSpec

ROOT = Path(__file__).resolve().parents[3]


def build_docs():
    spec = importlib.util.spec_from_file_location("build_docs", ROOT / "scripts" / "build_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_spec_field_and_filter_is_documented():
    docs = build_docs()
    documented = {name for key in docs.SPEC_FIELDS for name in key.split(" / ")}
    assert set(IndicatorSpec.model_fields) == documented
    assert set(Filters.model_fields) == set(docs.FILTER_FIELDS)
