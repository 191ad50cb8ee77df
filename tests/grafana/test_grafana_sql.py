"""The expansion harness against the behaviour the Grafana sources define (reference section 3)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.grafana.grafana_sql import (
    ALL,
    Interval,
    MacroError,
    TimeRange,
    Variable,
    calculate_interval,
    expand,
    expand_macros,
    go_v,
    parse_interval,
    replace_variables,
    rfc3339nano,
    round_interval,
    seconds_to_hms,
)

RANGE = TimeRange(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 6, 0, 5, 120000, UTC))
F, T = "2026-01-01T00:00:00Z", "2026-01-01T06:00:05.12Z"


@pytest.mark.parametrize(("ms", "rounded"), [(9, 1), (14, 10), (24999, 20000), (44999, 30000),
                                             (45000, 60000), (5399999, 3600000),
                                             (4e9, 31536000000)])  # fmt: skip
def test_round_interval(ms, rounded):
    assert round_interval(ms) == rounded


@pytest.mark.parametrize(("seconds", "text"), [(604800, "7d"), (5400, "1h"), (30, "30s"),
                                               (0.5, "500ms"), (31536000 + 86400, "1y")])  # fmt: skip
def test_seconds_to_hms_keeps_only_the_largest_unit(seconds, text):
    assert seconds_to_hms(seconds) == text


def test_the_interval_never_goes_below_the_min_interval():
    day = TimeRange(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC))
    assert calculate_interval(day, 500) == Interval(120000, "2m")
    assert calculate_interval(day, 100000) == Interval(60000, "1m")
    assert calculate_interval(day, 100000, None) == Interval(1000, "1s")


def test_go_formats():
    assert [go_v(x) for x in (60, 0.5, 2592000, 300, 1e-05)] == [
        "60", "0.5", "2.592e+06", "300", "1e-05"]  # fmt: skip
    assert rfc3339nano(RANGE.to_ms) == T
    assert parse_interval("1h30m") == 5400
    assert parse_interval("300ms") == 0.3
    assert parse_interval("2d") == 172800


def test_time_macros():
    sql, fill = expand_macros(
        "SELECT $__timeGroupAlias(t, 5m), v FROM x WHERE $__timeFilter(t) AND t < $__timeTo()"
        " AND $__unixEpochFilter(e)",
        RANGE,
    )
    assert sql == (
        f"SELECT time_bucket('300.000s',t) AS \"time\", v FROM x WHERE t BETWEEN '{F}' AND '{T}'"
        f" AND t < '{T}' AND e >= 1767225600 AND e <= 1767247205"
    )
    assert fill is None


def test_time_group_without_timescaledb_and_with_fill():
    sql, fill = expand_macros("SELECT $__timeGroup(t, '30d', previous) AS time", RANGE, False)
    assert sql == "SELECT floor(extract(epoch from t)/2.592e+06)*2.592e+06 AS time"
    assert fill is not None and fill.mode == "previous"
    assert expand_macros("$__timeGroup(t,1h,0)", RANGE)[1].value == 0.0


def test_time_group_followed_by_a_comma_gets_the_alias():
    sql, _ = expand_macros("SELECT $__timeGroup(t, 1m), v", RANGE)
    assert sql == "SELECT time_bucket('60.000s',t) AS \"time\", v"


@pytest.mark.parametrize(("sql", "message"), [
    ("$__nope(x)", 'unknown macro "__nope"'),
    ("$__timeGroup(t)", "needs time column and interval"),
    ("$__timeGroup(t, soon)", "error parsing interval soon"),
    ("$__timeGroup(t, 1m, nothing)", "error parsing fill value nothing"),
])  # fmt: skip
def test_bad_macros_fail_the_query(sql, message):
    with pytest.raises(MacroError, match=message):
        expand_macros(sql, RANGE)


def test_a_zero_argument_call_gets_one_empty_argument():
    assert expand_macros("$__timeFilter()", RANGE)[0] == f" BETWEEN '{F}' AND '{T}'"


SITES = Variable("site", ["a", "o'b"], options=["a", "o'b", "c"], multi=True, include_all=True)


@pytest.mark.parametrize(("sql", "expected"), [
    ("${site:sqlstring}", "'a','o''b'"),
    ("${site:csv}", "a,o'b"),
    ("${site:raw}", "a,o'b"),
    ("${site:pipe}", "a|o'b"),
    ("${site:json}", '["a","o\'b"]'),
    ("$site", "'a','o''b'"),
    ("[[site]]", "'a','o''b'"),
    ("$site_id ${unknown} $__timeFilter(t)", "$site_id ${unknown} $__timeFilter(t)"),
])  # fmt: skip
def test_variable_formats(sql, expected):
    assert replace_variables(sql, {"site": SITES}) == expected


def test_a_single_string_is_escaped_but_not_quoted_by_default():
    one = Variable("c", "o'b")
    assert replace_variables("$c ${c:sqlstring} ${c:text}", {"c": one}) == "o''b 'o''b' o'b"


def test_all_without_a_custom_value_is_every_option():
    every = Variable("site", [ALL], options=["a", "b"], multi=True, include_all=True)
    assert replace_variables("${site:sqlstring} ${site:text}", {"site": every}) == "'a','b' All"


def test_a_custom_all_value_is_sent_as_written_whatever_the_format():
    every = Variable("site", [ALL], options=["a"], multi=True, include_all=True,
                     all_value="'__all'")  # fmt: skip
    assert replace_variables("${site:sqlstring} ${site:csv}", {"site": every}) == "'__all' '__all'"


def test_expand_runs_every_stage():
    variables = {"site": Variable("site", "x")}
    expanded = expand(
        "SELECT $__timeGroupAlias(t, $__interval), ${site:sqlstring}, $__interval_ms"
        " WHERE $__timeFilter(t) AND e > $__unixEpochFrom()", RANGE, variables,
        max_data_points=360)  # fmt: skip
    assert expanded.interval == Interval(60000, "1m")
    assert expanded.sql == (
        f"SELECT time_bucket('60.000s',t) AS \"time\", 'x', 60000 WHERE t BETWEEN '{F}' AND '{T}'"
        " AND e > 1767225600"
    )
