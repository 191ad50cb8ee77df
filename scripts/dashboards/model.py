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


@dataclass
class Board:
    """A dashboard under construction: panels get ids and grid positions as they are added."""

    uid: str
    title: str
    description: str
    tags: list[str]
    time_from: str = "now-24h"
    refresh: str = "1m"
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
            "time": {"from": self.time_from, "to": "now"},
            "refresh": self.refresh,
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


def _panel(kind: str, title: str, description: str, targets: list[Json], defaults: Json,
           options: Json, overrides: list[Json] | None = None) -> Json:  # fmt: skip
    panel: Json = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": options,
    }
    if not targets:
        del panel["datasource"], panel["targets"]
    return panel


LEGEND = {"displayMode": "list", "placement": "bottom", "showLegend": True, "calcs": []}
TOOLTIP = {"mode": "multi", "sort": "desc"}


def timeseries(
    title: str,
    description: str,
    sql: str,
    unit: str,
    limits: Json | None = None,
    overrides: list[Json] | None = None,
    bars: bool = False,
) -> Json:
    """Lines (or bars) over time; with `limits`, the thresholds are drawn as dashed lines."""
    custom: Json = {
        "drawStyle": "bars" if bars else "line",
        "lineInterpolation": "linear",
        "lineWidth": 2,
        "fillOpacity": 60 if bars else 10,
        "gradientMode": "none",
        "showPoints": "never",
        "spanNulls": False,
        "axisBorderShow": False,
        "thresholdsStyle": {"mode": "dashed" if limits else "off"},
    }
    if bars:
        custom["stacking"] = {"mode": "normal", "group": "A"}
    defaults = {
        "unit": unit,
        "color": {"mode": "palette-classic"},
        "thresholds": limits or OK_THRESHOLDS,
        "custom": custom,
    }
    options = {"legend": LEGEND, "tooltip": TOOLTIP}
    return _panel("timeseries", title, description, [target(sql)], defaults, options, overrides)


def stat(
    title: str,
    description: str,
    sql: str,
    unit: str,
    limits: Json,
    fmt: str = "table",
    sparkline: bool = False,
    overrides: list[Json] | None = None,
    decimals: int | None = None,
) -> Json:
    """Big numbers: the last non-null value of each numeric column (with a sparkline when the
    query is a time series)."""
    defaults: Json = {"unit": unit, "color": {"mode": "thresholds"}, "thresholds": limits}
    if decimals is not None:
        defaults["decimals"] = decimals
    options = {
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "colorMode": "background",
        "graphMode": "area" if sparkline else "none",
        "textMode": "value_and_name",
        "justifyMode": "auto",
        "orientation": "auto",
        "wideLayout": True,
        "showPercentChange": False,
        "percentChangeColorMode": "inverted",
    }
    return _panel("stat", title, description, [target(sql, fmt)], defaults, options, overrides)


def table(
    title: str,
    description: str,
    sql: str,
    unit: str = "none",
    overrides: list[Json] | None = None,
    limits: Json | None = None,
    decimals: int = 1,
) -> Json:
    defaults = {
        "unit": unit,
        "decimals": decimals,
        "color": {"mode": "thresholds"},
        "thresholds": limits or OK_THRESHOLDS,
        # No default cellOptions: the schema's oneOf over cell types matches {"type": "auto"}
        # several times (every branch allows that type), so a bare cell type never validates.
        "custom": {"align": "auto", "inspect": False, "filterable": True},
    }
    options = {
        "showHeader": True,
        "cellHeight": "sm",
        "frameIndex": 0,
        "footer": {"show": False, "reducer": ["sum"], "countRows": False},
    }
    return _panel("table", title, description, [target(sql, "table")], defaults, options, overrides)


def colored(column: str, limits: Json) -> Json:
    """A table column whose cells are coloured by its own thresholds."""
    cell = {"type": "color-background", "mode": "basic"}
    return override(column, custom_cellOptions=cell, thresholds=limits)


def state_timeline(title: str, description: str, sql: str, mappings: list[Json]) -> Json:
    defaults = {
        "color": {"mode": "thresholds"},
        "thresholds": OK_THRESHOLDS,
        "mappings": mappings,
        "custom": {"lineWidth": 0, "fillOpacity": 70},
    }
    options = {
        "showValue": "never",
        "rowHeight": 0.8,
        "mergeValues": True,
        "alignValue": "left",
        "legend": LEGEND,
        "tooltip": {"mode": "single", "sort": "none"},
    }
    return _panel("state-timeline", title, description, [target(sql)], defaults, options)


def value_map(values: dict[str, tuple[str, str]]) -> Json:
    """A value mapping: raw value -> (text, colour)."""
    return {
        "type": "value",
        "options": {
            raw: {"text": text, "color": color, "index": i}
            for i, (raw, (text, color)) in enumerate(values.items())
        },
    }


def geomap(title: str, description: str, sql: str, layer: Json) -> Json:
    """Markers at each row's lat/lon; the layer config says which fields size and colour them."""
    defaults = {"color": {"mode": "thresholds"}, "thresholds": STATUS_THRESHOLDS}
    options = {
        "view": {"id": "coords", "lat": 33, "lon": 106, "zoom": 4, "allLayers": True},
        "controls": {"showZoom": True, "mouseWheelZoom": True, "showAttribution": True},
        "basemap": {"type": "default", "name": "Basemap"},
        "layers": [layer],
        "tooltip": {"mode": "details"},
    }
    return _panel("geomap", title, description, [target(sql, "table")], defaults, options)


def text(title: str, content: str) -> Json:
    return _panel("text", title, "", [], {}, {"mode": "markdown", "content": content.strip()})
