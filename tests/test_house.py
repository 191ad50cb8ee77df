"""The house limits of docs/architecture.md hold: small modules, small folders, a thin ground.

These read the source tree only; a failure names the file and what to do about it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("collector", "forecaster", "alerter", "grafana")
SOURCE_TREES = ("quaywatch", *PRODUCT, "bench", "scripts")
MAX_MODULE_LINES = 400
MAX_FOLDER_MODULES = 15
# The composition root: the one place that names every package (docs/architecture.md).
COMPOSITION_ROOT = {"web.py", "cli.py", "service.py", "scheduler.py"}
# `quaywatch backtest` asks the simulator where its scripted incidents are (docs/architecture.md).
CROSS_PACKAGE_EXCEPTIONS = {("forecaster", "collector.simulator")}


def python_files(tree: str) -> list[Path]:
    return sorted(p for p in (ROOT / tree).rglob("*.py") if "__pycache__" not in p.parts)


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("tree", SOURCE_TREES)
def test_no_module_is_longer_than_the_limit(tree: str) -> None:
    too_long = {
        str(p.relative_to(ROOT)): n
        for p in python_files(tree)
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not too_long, f"split by stage (limit {MAX_MODULE_LINES} lines): {too_long}"


@pytest.mark.parametrize("tree", SOURCE_TREES)
def test_no_folder_holds_more_modules_than_the_limit(tree: str) -> None:
    folders: dict[str, int] = {}
    for p in python_files(tree):
        key = str(p.parent.relative_to(ROOT))
        folders[key] = folders.get(key, 0) + 1
    crowded = {f: n for f, n in folders.items() if n > MAX_FOLDER_MODULES}
    assert not crowded, f"split into subpackages (limit {MAX_FOLDER_MODULES}): {crowded}"


def test_the_ground_imports_no_product_package() -> None:
    offenders = {}
    for p in python_files("quaywatch"):
        if p.parent == ROOT / "quaywatch" and p.name in COMPOSITION_ROOT:
            continue
        product = {m for m in imported_modules(p) if m.split(".")[0] in PRODUCT}
        if product:
            offenders[str(p.relative_to(ROOT))] = sorted(product)
    assert not offenders, f"the shared package must not import a product package: {offenders}"


@pytest.mark.parametrize("package", PRODUCT)
def test_a_product_package_imports_no_other_product_package(package: str) -> None:
    offenders = {}
    for p in python_files(package):
        foreign = {
            m
            for m in imported_modules(p)
            if m.split(".")[0] in PRODUCT
            and m.split(".")[0] != package
            and (package, m) not in CROSS_PACKAGE_EXCEPTIONS
        }
        if foreign:
            offenders[str(p.relative_to(ROOT))] = sorted(foreign)
    assert not offenders, f"packages meet in the database, not in imports: {offenders}"


def test_the_ground_check_sees_an_import_when_there_is_one(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import os\nfrom alerter.rules import store\nfrom . import sibling\n")
    assert imported_modules(module) == {"os", "alerter.rules"}
