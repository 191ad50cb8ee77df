from __future__ import annotations

from pathlib import Path

from grafana.build import OUT_DIR, stale, write_dashboards


def test_committed_dashboards_are_what_the_generator_writes(tmp_path: Path):
    written = write_dashboards(tmp_path)
    committed = {p.name: p.read_text(encoding="utf-8") for p in OUT_DIR.glob("*.json")}
    generated = {p.name: p.read_text(encoding="utf-8") for p in written}
    assert sorted(committed) == sorted(generated), "run `make dashboards` and commit the result"
    for name, body in generated.items():
        assert committed[name] == body, f"grafana/dashboards/{name} is stale: run `make dashboards`"


def test_the_check_names_a_stale_or_unknown_file(tmp_path: Path):
    write_dashboards(tmp_path)
    (tmp_path / "port.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "old.json").write_text("{}\n", encoding="utf-8")
    assert stale(tmp_path) == ["old.json", "port.json"]
