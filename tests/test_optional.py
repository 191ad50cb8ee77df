from __future__ import annotations

import pytest

from quaywatch.optional import import_optional


def test_an_absent_module_or_package_is_none():
    assert import_optional("collector.no_such_part") is None
    assert import_optional("no_such_package.commands") is None


def test_a_present_module_is_imported():
    assert import_optional("collector.events") is not None


def test_an_import_error_inside_a_module_is_not_swallowed(tmp_path, monkeypatch):
    (tmp_path / "broken_part.py").write_text("import no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError):
        import_optional("broken_part")
