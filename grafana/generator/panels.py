"""Panel builders: timeseries, stat, table, state timeline, geomap and text, each returning a
panel whose `options` and `fieldConfig.defaults.custom` validate against its panel schema."""

from __future__ import annotations

from grafana.generator.model import (
    DATASOURCE,
    OK_THRESHOLDS,
    STATUS_THRESHOLDS,
    Json,
    override,
    target,
)


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
