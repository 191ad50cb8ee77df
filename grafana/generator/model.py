"""Plain-dict builders for Grafana's v1 dashboard model (schemaVersion 41).

Every builder returns JSON-ready dicts that validate against ../shared/grafana-jsonschema: the
dashboard schema for the frame and each panel type's Options / FieldConfig for `options` and
`fieldConfig.defaults.custom`. That schema types an override property's `value` as an object,
so overrides here only set object values (colours, thresholds, cell options, stacking).
Panel SQL follows the house rule: `${var:sqlstring}` for strings, `${var:csv}` for numbers,
never a bare `$var` (reference timescaledb-and-grafana.md 3.3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 41
DATASOURCE = {"type": "grafana-postgresql-datasource", "uid": "quaywatch-tsdb"}
GREEN, ORANGE, RED, GREY = "green", "orange", "red", "#8e8e8e"
ALL_VALUE = "$__all"  # what Grafana stores as the current value when All is selected

Json = dict[str, Any]


def thresholds(*steps: tuple[float | None, str]) -> Json:
    """Absolute thresholds; the first step is the base (value None)."""
    return {"mode": "absolute", "steps": [{"value": v, "color": c} for v, c in steps]}


OK_THRESHOLDS = thresholds((None, GREEN))
STATUS_THRESHOLDS = thresholds((None, GREEN), (1, ORANGE), (2, RED), (3, GREY))


def target(sql: str, fmt: str = "time_series", ref: str = "A") -> Json:
    return {
        "refId": ref,
        "datasource": DATASOURCE,
        "editorMode": "code",
        "rawQuery": True,
        "format": fmt,
        "rawSql": sql.strip(),
    }


def override(name: str, **properties: Json) -> Json:
    """Field override for one field; property ids use dots (custom.cellOptions ->
    custom_cellOptions). The schema types matcher options as an object, so this uses the
    byNames matcher (what Grafana's legend writes) rather than byName with a bare string."""
    return {
        "matcher": {"id": "byNames", "options": {"mode": "include", "names": [name]}},
        "properties": [{"id": k.replace("_", "."), "value": v} for k, v in properties.items()],
    }


@dataclass
class Grid:
    """Places panels left to right on Grafana's 24-column grid, wrapping to a new line."""

    x: int = 0
    y: int = 0
    line_height: int = 0

    def place(self, w: int, h: int) -> Json:
        if self.x + w > 24:
            self.newline()
        pos = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.x += w
        self.line_height = max(self.line_height, h)
        return pos

    def newline(self) -> None:
        self.y += self.line_height
        self.x, self.line_height = 0, 0


@dataclass(frozen=True)
class TimeWindow:
    """What a board opens on: its time range (the picker's relative forms) and refresh."""

    time_from: str = "now-24h"
    time_to: str = "now"
    refresh: str = "1m"


@dataclass
class Board:
    """A dashboard under construction: panels get ids and grid positions as they are added."""

    uid: str
    title: str
    description: str
    tags: list[str]
    window: TimeWindow = TimeWindow()
    variables: list[Json] = field(default_factory=list)
    annotations: list[Json] = field(default_factory=list)
    panels: list[Json] = field(default_factory=list)
    grid: Grid = field(default_factory=Grid)

    def add(self, panel: Json, w: int, h: int) -> Json:
        panel["id"] = len(self.panels) + 1
        panel["gridPos"] = self.grid.place(w, h)
        self.panels.append(panel)
        return panel

    def row(self, title: str) -> None:
        self.grid.newline()
        self.add({"type": "row", "title": title, "collapsed": False, "panels": []}, 24, 1)
        self.grid.newline()

    def build(self) -> Json:
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": ["quaywatch", *self.tags],
            "timezone": "browser",
            "editable": False,
            "graphTooltip": 1,
            "time": {"from": self.window.time_from, "to": self.window.time_to},
            "refresh": self.window.refresh,
            "schemaVersion": SCHEMA_VERSION,
            "version": 1,
            "links": [dashboard_links()],
            "annotations": {"list": [builtin_annotation(), *self.annotations]},
            "templating": {"list": self.variables},
            "panels": self.panels,
        }


def dashboard_links() -> Json:
    return {
        "title": "QuayWatch 看板 dashboards",
        "type": "dashboards",
        "icon": "external link",
        "tooltip": "",
        "tags": ["quaywatch"],
        "asDropdown": True,
        "targetBlank": False,
        "includeVars": False,
        "keepTime": True,
    }


def builtin_annotation() -> Json:
    return {
        "builtIn": 1,
        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
        "enable": True,
        "hide": True,
        "iconColor": "rgba(0, 211, 255, 1)",
        "name": "Annotations & Alerts",
        "type": "dashboard",
    }


def sql_annotation(name: str, sql: str, color: str) -> Json:
    return {
        "name": name,
        "enable": True,
        "iconColor": color,
        "datasource": DATASOURCE,
        "target": target(sql, "table", "Anno"),
    }


def query_variable(
    name: str,
    label: str,
    sql: str,
    current: str | list[str] | None = None,
    multi: bool = False,
    include_all: bool = False,
    all_value: str | None = None,
) -> Json:
    """A query variable refreshed on dashboard load; `current` is the default selection."""
    variable: Json = {
        "type": "query",
        "name": name,
        "label": label,
        "datasource": DATASOURCE,
        "query": sql.strip(),
        "definition": sql.strip(),
        "refresh": 1,
        "sort": 0,
        "multi": multi,
        "includeAll": include_all,
        "options": [],
    }
    if all_value is not None:
        variable["allValue"] = all_value
    if current is not None:
        variable["current"] = {"text": current, "value": current}
    return variable
