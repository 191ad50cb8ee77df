from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.grafana.panel_runner import iter_panels

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT.parent / "shared" / "grafana-jsonschema"
DASHBOARDS = sorted((ROOT / "grafana" / "dashboards").glob("*.json"))
# Panel type -> schema file (state-timeline's file drops the dash).
SCHEMA_FILES = {"state-timeline": "statetimeline"}

jsonschema = pytest.importorskip("jsonschema")
needs_schemas = pytest.mark.skipif(
    not SCHEMAS.is_dir(),
    reason=f"Grafana's JSON schemas are not beside the repo ({SCHEMAS}); they come with ../shared",
)


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.jsonschema.json").read_text(encoding="utf-8"))


def errors(validator_schema: dict[str, Any], instance: Any) -> list[str]:
    validator = jsonschema.Draft7Validator(validator_schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(instance)]  # fmt: skip


def panel_definition(panel_type: str, definition: str) -> dict[str, Any] | None:
    """The panel schema's Options or FieldConfig, with its sibling definitions for $refs."""
    full = schema(SCHEMA_FILES.get(panel_type, panel_type))
    if definition not in full["definitions"]:
        return None
    return {"$ref": f"#/definitions/{definition}", "definitions": full["definitions"]}


def test_there_is_a_dashboard_per_audience():
    names = {p.stem for p in DASHBOARDS}
    assert {"national", "customs_centre", "port", "alerts", "forecast_quality"} <= names


@needs_schemas
@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_each_dashboard_validates_against_grafanas_schema(path):
    dashboard = load(path)
    assert errors(schema("dashboard"), dashboard) == []
    assert dashboard["schemaVersion"] == 41


@needs_schemas
@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_each_panels_options_and_custom_field_config_validate_against_its_panel_schema(path):
    for panel in iter_panels(load(path)):
        where = f"panel {panel['id']} ({panel['type']})"
        options = panel_definition(panel["type"], "Options")
        assert options is not None, f"{where}: no Options schema for this panel type"
        assert errors(options, panel.get("options", {})) == [], where
        custom = panel.get("fieldConfig", {}).get("defaults", {}).get("custom")
        field_config = panel_definition(panel["type"], "FieldConfig")
        if field_config is None:
            assert not custom, f"{where}: custom field config on a panel type that has none"
        else:
            assert errors(field_config, custom or {}) == [], where


def test_uids_are_stable_and_unique_and_panels_have_unique_ids():
    uids = [load(p)["uid"] for p in DASHBOARDS]
    assert len(set(uids)) == len(uids)
    assert all(re.fullmatch(r"qw-[a-z-]+", uid) for uid in uids)
    for path in DASHBOARDS:
        ids = [p["id"] for p in load(path)["panels"]]
        assert len(set(ids)) == len(ids), path.name


def _queries(dashboard: dict[str, Any]) -> list[str]:
    sql = [t["rawSql"] for p in iter_panels(dashboard) for t in p.get("targets", [])]
    sql += [a["target"]["rawSql"] for a in dashboard["annotations"]["list"] if "target" in a]
    sql += [v["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    return sql


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_panel_sql_never_uses_a_bare_variable(path):
    # A bare $var's quoting changed in Grafana 12 (PR #114058): always name the format.
    dashboard = load(path)
    names = {v["name"] for v in dashboard["templating"]["list"]}
    for sql in _queries(dashboard):
        for name in names:
            assert not re.search(rf"\${name}\b|\$\{{{name}\}}|\[\[{name}", sql), sql


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_panels_read_only_the_reporting_schema(path):
    for sql in _queries(load(path)):
        tables = re.findall(r"\b(?:FROM|JOIN)\s+([a-z_][a-z_.]*)", sql, re.IGNORECASE)
        assert tables and all(t.startswith("reporting.") for t in tables), sql


def test_the_provisioned_data_source_and_provider_match_the_dashboards():
    yaml = pytest.importorskip("yaml")
    provisioning = ROOT / "grafana" / "provisioning"
    ds = yaml.safe_load((provisioning / "datasources" / "quaywatch.yaml").read_text())
    source = ds["datasources"][0]
    assert source["type"] == "grafana-postgresql-datasource"
    assert source["user"] == "quaywatch_grafana"
    assert source["jsonData"]["timescaledb"] is True
    assert "password" in source["secureJsonData"]
    for path in DASHBOARDS:
        for panel in iter_panels(load(path)):
            if "datasource" in panel:
                assert panel["datasource"]["uid"] == source["uid"]
    providers = yaml.safe_load((provisioning / "dashboards" / "quaywatch.yaml").read_text())
    assert providers["providers"][0]["folder"] == "QuayWatch"


def test_compose_runs_pinned_images_with_this_provisioning():
    yaml = pytest.importorskip("yaml")
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    assert re.fullmatch(r"timescale/timescaledb:[\d.]+-pg17", services["timescaledb"]["image"])
    assert re.fullmatch(r"grafana/grafana:\d+\.\d+\.\d+", services["grafana"]["image"])
    mounts = services["grafana"]["volumes"]
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in mounts
    assert "./grafana/dashboards:/var/lib/grafana/dashboards/quaywatch:ro" in mounts
    assert "GF_QUAYWATCH_READER_PASSWORD" in services["grafana"]["environment"]
    init = services["grafana-db-init"]
    assert "ALTER ROLE quaywatch_grafana PASSWORD" in init["command"][0]
    assert services["quaywatch"]["build"] == "."
