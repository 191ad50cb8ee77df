"""The command line finds the local `make run` database by itself, and says so."""

from __future__ import annotations

from click.testing import CliRunner

import quaywatch.cli as cli_module


def test_with_no_database_named_the_cli_uses_the_local_demo_database_and_says_which(
    tmp_path, db_url, monkeypatch
):
    local = tmp_path / "local.env"
    local.write_text(f"# written by make\nDATABASE_URL={db_url}\n")
    monkeypatch.setattr(cli_module, "LOCAL_ENV", local)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("QUAYWATCH_CONFIG", raising=False)
    result = CliRunner().invoke(cli_module.cli, ["db", "status"])
    assert result.exit_code == 0, result.output
    assert f"using the local database of `make run`: {db_url}" in result.stderr


def test_a_named_database_wins_over_the_local_demo(tmp_path, db_url, monkeypatch):
    local = tmp_path / "local.env"
    local.write_text("DATABASE_URL=postgresql://nobody@127.0.0.1:1/none\n")
    monkeypatch.setattr(cli_module, "LOCAL_ENV", local)
    monkeypatch.setenv("DATABASE_URL", db_url)
    result = CliRunner().invoke(cli_module.cli, ["db", "status"])
    assert result.exit_code == 0, result.output
    assert "local database" not in result.stderr
