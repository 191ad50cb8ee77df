"""Hostile bodies on every write route: whatever arrives, the answer is never a 5xx, every error
is application/problem+json carrying its own status, and a 204 has no body.

The routes come from the app's url map (every POST, PUT and PATCH under /api/v1), their path
parameters name an existing object or one that does not exist, and the bodies are drawn from
hostile strategies: nesting 10,000 levels deep, numbers at and past the float and int-string
limits, explicit nulls and wrong types for every field of the route's documented body, invalid
UTF-8, NUL characters, duplicate keys, empty bodies and content types that are not JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from api_objects import existing_ids, valid_bodies
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from quaywatch.http.openapi import build_document

EXAMPLES = 150  # per route, besides the fixed @example bodies
BATCH_ROUTES = {"/api/v1/events", "/api/v1/declarations"}
DEEP = [
    b"[" * 10_000 + b"]" * 10_000,
    b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    b'{"name": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
]
# 5000 digits: past Python's int-string limit (4300), which json.loads raises ValueError for.
HUGE_INT = "9" * 5000
HUGE_MARK = "\u0001HUGE\u0001"
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "application/merge-patch+json",
    "application/x-ndjson",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/xml",
    None,
]
RAW_BODIES = [
    b"",
    b"   \n",
    b"null",
    b"[]",
    b"{}",
    b"[null]",
    b'"text"',
    b"0",
    b"\x00",
    b'{"name": "a\x00b"}',
    b'{"name": "a\\u0000b"}',
    b'{"name": "a", "name": "b"}',
    b'[{"kind": "arrived", "kind": "removed"}]',
    b"NaN",
    b'{"threshold": Infinity}',
    b"[-Infinity]",
    b'{"threshold": 1e400}',
    b'{"threshold": ' + HUGE_INT.encode() + b"}",
    b"\xff\xfe\x00",
    b'{"name": "\xc3\x28"}',
    b'{"name": "\xed\xa0\x80"}',
    b'{"name": "\\ud800"}',
    b"\xef\xbb\xbf{}",
    b"{not json",
    b'{"a": 1}\n{"b": 2}',
    b"a=1&b=2",
]
SPECIAL_VALUES = [
    None,
    1e308,
    -1e308,
    5e-324,
    -0.0,
    2**64,
    -(2**63) - 1,
    2**31,
    10**4000,
    HUGE_MARK,
    True,
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "\u2028",
    "🚢" * 300,
    "x" * 20_000,
    "0001-01-01T00:00:00-14:00",
    "9999-12-31T23:59:59+14:00",
    "P99999999999D",
    "-1",
    [],
    {},
    [None],
    {"": None},
]


@dataclass(frozen=True)
class Route:
    method: str
    rule: str
    params: tuple[str, ...]
    fields: tuple[str, ...]

    def path(self, existing: dict[str, list[Any]], use_existing: bool) -> str:
        path = self.rule
        for name in self.params:
            known = existing.get(name) or [0]
            value = known[0] if use_existing else ("0" if name.endswith("_id") else "nowhere")
            path = path.replace(f"{{{name}}}", str(value))
        return path


def _routes() -> list[Route]:
    from quaywatch.settings import Settings
    from quaywatch.web import create_app

    # The url map and document need no database; the engine is never connected.
    settings = Settings(database_url="postgresql+psycopg://unused@127.0.0.1:1/unused")
    document = build_document(create_app(settings))
    routes = []
    for rule, operations in document["paths"].items():
        for method, operation in operations.items():
            if method not in ("post", "put", "patch"):
                continue
            params = tuple(p["name"] for p in operation.get("parameters", []))
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema", {})
            routes.append(Route(method, rule, params, tuple(sorted(_fields(schema)))))
    return routes


def _fields(schema: dict[str, Any]) -> set[str]:
    schema = schema.get("items", schema)
    names = set(schema.get("properties", {}))
    for option in schema.get("oneOf", []) + schema.get("anyOf", []):
        names |= set(option.get("properties", {}))
    return names


ROUTES = _routes()


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


hostile_values = st.one_of(
    st.sampled_from(SPECIAL_VALUES),
    st.integers(0, 80).map(nested),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.lists(st.none() | st.integers() | st.text(max_size=3), max_size=3),
    st.dictionaries(st.text(max_size=5), st.none() | st.integers(), max_size=3),
)


def dump(value: Any) -> bytes:
    text = json.dumps(value).replace(json.dumps(HUGE_MARK), HUGE_INT)
    return text.encode("utf-8", errors="surrogatepass")


@st.composite
def hostile_requests(draw: st.DrawFn, route: Route) -> tuple[bytes, str | None]:
    """(body, content type): raw hostile bytes, or a JSON object whose fields (the route's
    documented ones, or any) hold hostile values, all of them null, or wrong types."""
    fields = list(route.fields) or ["name"]
    kind = draw(st.sampled_from(["raw", "fields", "nulls", "subset"]))
    if kind == "raw":
        body = draw(st.sampled_from(RAW_BODIES + DEEP) | st.binary(max_size=40))
    else:
        if kind == "nulls":
            value: Any = dict.fromkeys(fields)
        elif kind == "fields":
            value = {draw(st.sampled_from(fields)): draw(hostile_values)}
        else:
            value = draw(st.dictionaries(st.sampled_from(fields), hostile_values, max_size=6))
        if route.rule in BATCH_ROUTES and draw(st.booleans()):
            value = [value]
        body = dump(value)
    return body, draw(st.sampled_from(CONTENT_TYPES))


def assert_sound(response: Any, route: Route) -> None:
    status = response.status_code
    assert status < 500, (status, response.get_data()[:500])
    if status == 204:
        assert response.get_data() == b""
    if status >= 400:
        if route.rule in BATCH_ROUTES and status == 422:
            # A batch where no item was accepted: a problem carrying the batch summary.
            assert "rejected" in response.json and response.json["accepted"] == 0
        assert response.mimetype == "application/problem+json", response.get_data()[:300]
        assert response.json["status"] == status


@pytest.fixture
def existing(client, auth) -> dict[str, list[Any]]:
    return existing_ids(client, auth)


def test_every_write_route_is_covered():
    methods = {(r.method, r.rule) for r in ROUTES}
    assert ("post", "/api/v1/events") in methods and (
        "patch",
        "/api/v1/channels/{channel_id}",
    ) in methods
    assert len(methods) == len(ROUTES) >= 20


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method.upper()} {r.rule}")
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), use_existing=st.booleans())
@example(data=None, use_existing=True)
def test_a_hostile_body_never_gets_a_server_error(
    client, auth, existing, route, data, use_existing
):
    sent = FIXED if data is None else [data.draw(hostile_requests(route))]
    for body, content_type in sent:
        headers = {**auth, **({"Content-Type": content_type} if content_type else {})}
        response = client.open(
            route.path(existing, use_existing),
            method=route.method.upper(),
            data=body,
            headers=headers,
        )
        assert_sound(response, route)


# Every raw body and every deep one, once as JSON and once without a content type.
FIXED = [(body, "application/json") for body in RAW_BODIES + DEEP] + [
    (body, None) for body in RAW_BODIES + DEEP
]


WRONG_VALUES = [None, [], {}, "x", "", 0, -1, True, 1e308, 2**64, "\x00", nested(65)]


def base_body(route: Route) -> Any:
    """A body the route accepts, when one is known: a create's, or for a PATCH or PUT of one
    object the body that creates such an object."""
    bodies = valid_bodies()
    return bodies.get(route.rule) or bodies.get(route.rule.rsplit("/{", 1)[0]) or {}


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method.upper()} {r.rule}")
def test_an_explicit_null_or_a_wrong_type_in_any_field_never_gets_a_server_error(
    client, auth, existing, route
):
    base = base_body(route)
    item = base[0] if isinstance(base, list) else base
    for field in sorted(set(route.fields) | set(item)):
        for value in WRONG_VALUES:
            changed = {**item, field: value}
            response = client.open(
                route.path(existing, use_existing=True),
                method=route.method.upper(),
                data=dump([changed] if isinstance(base, list) else changed),
                headers={**auth, "Content-Type": "application/json"},
            )
            assert_sound(response, route)


def test_an_id_of_zero_names_no_object_rather_than_the_first_one(client, auth, existing):
    for path in ("/api/v1/channels/0", "/api/v1/silences/0", "/api/v1/mute-intervals/0"):
        response = client.get(path, headers=auth)
        assert response.status_code == 404, (path, response.json)
    assert client.delete("/api/v1/mute-intervals/0", headers=auth).status_code == 404
    assert client.get("/api/v1/mute-intervals/1", headers=auth).status_code == 200


def test_werkzeugs_own_errors_are_problems_too(app, client, auth):
    from flask import Blueprint, abort

    extra = Blueprint("extra", __name__)

    @extra.post("/api/v1/unsupported")
    def unsupported() -> None:
        abort(415)

    app.register_blueprint(extra)
    app.config["MAX_CONTENT_LENGTH"] = 100
    answers = {
        404: client.get("/api/v1/no-such-route", headers=auth),
        405: client.put("/api/v1/events", json=[], headers=auth),
        413: client.post("/api/v1/events", data=b"[" + b"1," * 100 + b"1]", headers=auth),
        415: client.post("/api/v1/unsupported", headers=auth),
    }
    for status, response in answers.items():
        assert response.status_code == status
        assert response.mimetype == "application/problem+json"
        assert response.json["status"] == status and response.json["title"]
    assert set(answers[405].headers["Allow"].split(", ")) == {"OPTIONS", "POST"}


def test_an_explicit_null_for_a_value_that_cannot_be_empty_is_a_422_naming_it(
    client, auth, existing
):
    interval = existing["interval_id"][0]
    response = client.patch(f"/api/v1/mute-intervals/{interval}", json={"name": None}, headers=auth)
    assert response.status_code == 422
    assert response.json["errors"] == [{"field": "name", "reason": "must not be null"}]
    silence = existing["silence_id"][0]
    for field in ("ends_at", "matchers"):
        response = client.patch(f"/api/v1/silences/{silence}", json={field: None}, headers=auth)
        assert (response.status_code, response.json["detail"]) == (
            422,
            f"{field}: must not be null",
        )
