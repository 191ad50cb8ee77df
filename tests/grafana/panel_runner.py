"""Run a dashboard's queries the way Grafana would: resolve its variables, expand each panel
target, annotation and variable query with grafana_sql, execute it, and check the result frame
with the data source's rules (reference timescaledb-and-grafana.md section 3.4)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from tests.grafana.grafana_sql import ALL, Expanded, TimeRange, Variable, expand

SCREEN_WIDTH_PX = 1920  # maxDataPoints defaults to the panel's width in pixels
DS_MIN_INTERVAL = "1m"  # jsonData.timeInterval of the provisioned data source

_TIME_OIDS = {1184, 1114, 1082}
_NUMBER_OIDS = {20, 21, 23, 700, 701, 1700}
_BOOL_OIDS = {16}
_JSON_OIDS = {114, 3802}


class FrameError(AssertionError):
    """The result would fail in Grafana (the message is Grafana's)."""


@dataclass
class Frame:
    columns: list[str]
    kinds: list[str]  # time | number | bool | json | string
    rows: list[tuple[Any, ...]]
    elapsed_ms: float = 0.0

    def column(self, name: str) -> list[Any]:
        index = self.columns.index(name)
        return [row[index] for row in self.rows]


Execute = Callable[[str], Frame]


def kind_of(oid: int) -> str:
    if oid in _TIME_OIDS:
        return "time"
    if oid in _NUMBER_OIDS:
        return "number"
    if oid in _BOOL_OIDS:
        return "bool"
    if oid in _JSON_OIDS:
        return "json"
    return "string"


def psycopg_executor(conn: Any) -> Execute:
    """Execute with a psycopg connection (autocommit), timing the round trip."""

    def execute(sql: str) -> Frame:
        started = time.perf_counter()
        cur = conn.execute(sql)
        rows = cur.fetchall() if cur.description else []
        elapsed = (time.perf_counter() - started) * 1000
        description = cur.description or []
        return Frame(
            [d.name for d in description], [kind_of(d.type_code) for d in description], rows,
            elapsed,
        )  # fmt: skip

    return execute


def check_time_series(frame: Frame) -> None:
    """sqleng's time_series rules: a `time` column; long frames sorted ascending, no null time."""
    if "time" not in frame.columns:
        raise FrameError(
            "time column is missing; make sure your data includes a time column for time series"
            " format or switch to a table format that doesn't require it"
        )
    times = frame.column("time")
    if any(t is None for t in times):
        raise FrameError("time series with null time values are not supported")
    if any(later < earlier for earlier, later in zip(times, times[1:], strict=False)):
        raise FrameError(
            "unable to process the data because it is not sorted in ascending order by time,"
            " please updated your query to sort the data by time if possible"
        )


def check_annotation(frame: Frame) -> None:
    missing = {"time", "text"} - set(frame.columns)
    if missing:
        raise FrameError(f"annotation query lacks columns {sorted(missing)}")


# --- variables ---------------------------------------------------------------------------------


def metric_find_values(frame: Frame) -> list[tuple[str, str]]:
    """transformMetricFindResponse: __text/__value pairs, else every value of every column,
    unique by text."""
    if "__text" in frame.columns and "__value" in frame.columns:
        pairs = [(str(t), str(v)) for t, v in zip(frame.column("__text"), frame.column("__value"),
                                                   strict=True)]  # fmt: skip
    else:
        pairs = [(str(v), str(v)) for row in frame.rows for v in row]
    seen: set[str] = set()
    unique = []
    for text, value in pairs:
        if text not in seen:
            seen.add(text)
            unique.append((text, value))
    return unique


def custom_values(query: str) -> list[tuple[str, str]]:
    """A custom variable's `a,b` or `text : value` list."""
    pairs = []
    for item in re.findall(r"(?:\\,|[^,])+", query):
        item = item.strip().replace("\\,", ",")
        text, sep, value = item.partition(" : ")
        pairs.append((text, value) if sep else (item, item))
    return pairs


def select_current(model: dict[str, Any], values: list[tuple[str, str]]) -> Variable:
    """Keep the saved selection when it is still an option, else take the first option
    (All comes first when includeAll is set), as Grafana validates a variable's selection."""
    options = [v for _, v in values]
    current = (model.get("current") or {}).get("value")
    wanted = current if isinstance(current, list) else ([current] if current else [])
    valid = [w for w in wanted if (w == ALL and model.get("includeAll")) or w in options]
    if not valid:
        valid = [ALL] if model.get("includeAll") else options[:1]
    texts = dict((v, t) for t, v in values)
    chosen_text = ["All" if v == ALL else texts.get(v, v) for v in valid]
    multi = bool(model.get("multi"))
    return Variable(
        name=model["name"],
        value=valid if multi else valid[0],
        text=chosen_text if multi else chosen_text[0],
        options=options,
        multi=multi,
        include_all=bool(model.get("includeAll")),
        all_value=model.get("allValue") or None,
    )


@dataclass
class QueryRun:
    """One executed query: where it came from, what was sent, and the frame."""

    source: str
    fmt: str
    expanded: Expanded
    frame: Frame


@dataclass
class DashboardRun:
    dashboard: dict[str, Any]
    time_range: TimeRange
    execute: Execute
    overrides: dict[str, str | list[str]] = field(default_factory=dict)
    variables: dict[str, Variable] = field(default_factory=dict)
    runs: list[QueryRun] = field(default_factory=list)

    def _run(
        self,
        source: str,
        sql: str,
        fmt: str,
        max_points: int,
        interval: str | None,
        time_range: TimeRange | None = None,
    ) -> Frame:
        expanded = expand(sql, time_range or self.time_range, self.variables, max_points,
                          interval or DS_MIN_INTERVAL, dashboard=self.dashboard.get("title", ""))  # fmt: skip
        frame = self.execute(expanded.sql)
        self.runs.append(QueryRun(source, fmt, expanded, frame))
        return frame

    def resolve_variables(self) -> None:
        """Variables in order, each query expanded with the ones before it."""
        for model in self.dashboard.get("templating", {}).get("list", []):
            if model["type"] == "query":
                sql = (
                    model["query"] if isinstance(model["query"], str) else model["query"]["rawSql"]
                )
                sql = sql.replace("$__searchFilter", "%")
                frame = self._run(f"variable {model['name']}", sql, "table", 1000, None)
                values = metric_find_values(frame)
            elif model["type"] == "custom":
                values = custom_values(model["query"])
            elif model["type"] in ("constant", "textbox"):
                values = [(model["query"], model["query"])]
            else:
                raise NotImplementedError(f"variable type {model['type']}")
            model = dict(model)
            if model["name"] in self.overrides:
                override = self.overrides[model["name"]]
                model["current"] = {"value": override, "text": override}
            self.variables[model["name"]] = select_current(model, values)

    def run_annotations(self) -> None:
        for annotation in self.dashboard.get("annotations", {}).get("list", []):
            target = annotation.get("target") or {}
            if "rawSql" not in target:
                continue  # Grafana's built-in annotations
            frame = self._run(f"annotation {annotation['name']}", target["rawSql"], "table", 1000,
                              None)  # fmt: skip
            check_annotation(frame)

    def run_panels(self) -> None:
        for panel in iter_panels(self.dashboard):
            if panel.get("repeat"):
                self.run_repeated(panel)
            else:
                self.run_panel(panel)

    def run_panel(self, panel: dict[str, Any], copy: str = "") -> None:
        width = round(panel["gridPos"]["w"] / 24 * SCREEN_WIDTH_PX)
        max_points = int(panel.get("maxDataPoints") or width)
        time_range = self.panel_range(panel)
        for target in panel.get("targets", []):
            fmt = target.get("format", "time_series")
            source = f"panel {panel['id']}{copy} {panel.get('title', '')!r} {target['refId']}"
            frame = self._run(source, target["rawSql"], fmt, max_points, panel.get("interval"),
                              time_range)  # fmt: skip
            if fmt == "time_series":
                check_time_series(frame)

    def run_repeated(self, panel: dict[str, Any]) -> None:
        """A repeated panel runs once per selected value (every option when All is selected),
        with the variable set to that one value, as Grafana's panel copies are."""
        variable = self.variables[panel["repeat"]]
        chosen = variable.value if isinstance(variable.value, list) else [variable.value]
        values = variable.options if variable.is_all else chosen
        for value in values:
            self.variables[variable.name] = replace(
                variable, value=[value] if variable.multi else value, text=value
            )
            self.run_panel(panel, f" [{variable.name}={value}]")
        self.variables[variable.name] = variable

    def panel_range(self, panel: dict[str, Any]) -> TimeRange:
        """A panel's relative time override (`timeFrom: "7d"`) replaces the dashboard's range."""
        time_from = panel.get("timeFrom")
        if not time_from:
            return self.time_range
        raw = time_from if time_from.startswith("now") else f"now-{time_from}"
        return TimeRange.relative(raw, "now", self.time_range.end)

    def run_all(self) -> DashboardRun:
        self.resolve_variables()
        self.run_annotations()
        self.run_panels()
        return self


def iter_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard.get("panels", []):
        if panel["type"] == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def default_range(dashboard: dict[str, Any], now: datetime | None = None) -> TimeRange:
    return TimeRange.relative(dashboard["time"]["from"], dashboard["time"]["to"], now)
