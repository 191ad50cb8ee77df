"""The OpenAPI document covers every route and declares its answers honestly: fuzzing every
operation with every schemathesis check finds no server error and no answer that differs from
the document (status, content type, headers, body schema, auth, rejection of invalid data)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
import schemathesis
from api_objects import existing_ids
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import DataGenerationMethod, GenerationConfig
from schemathesis.checks import ALL_CHECKS
from schemathesis.constants import NOT_SET
from schemathesis.specs.openapi.checks import negative_data_rejection

from quaywatch.http.openapi import SUCCESS, build_document

# Examples per operation, valid and negative data together: 78 operations x 40 take about
# 120 s on a 2-core machine (x 50: 150 s, now that the fuzzer reaches real alerts and every
# list's page is checked), which keeps the whole suite near 14 minutes; raise it for a deeper
# search (300 per operation found nothing more than 80 did).
EXAMPLES = 40


@schemathesis.serializer("application/x-ndjson")
class NdjsonSerializer:
    """NDJSON bodies for the batch ingest routes: one JSON value per line."""

    def as_requests(self, context: Any, value: Any) -> dict[str, Any]:
        return {"data": _ndjson(value)}

    def as_werkzeug(self, context: Any, value: Any) -> dict[str, Any]:
        return {"data": _ndjson(value)}


def _ndjson(value: Any) -> bytes:
    lines = value if isinstance(value, list) else [value]
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def test_the_document_lists_every_api_route_with_the_event_schema(app):
    document = build_document(app)
    api_rules = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1")}
    assert len(document["paths"]) == len(api_rules)
    events = document["paths"]["/api/v1/events"]["post"]
    item = events["requestBody"]["content"]["application/json"]["schema"]["items"]
    assert {"event_id", "kind", "occurred_at", "site_id", "lot_id"} <= set(item["required"])


def test_every_endpoint_with_a_declared_status_exists(app):
    assert set(SUCCESS) <= set(app.view_functions)


def test_answers_are_declared_with_their_real_status_and_errors_as_problems(app):
    paths = build_document(app)["paths"]
    assert set(paths["/api/v1/events"]["post"]["responses"]) >= {"202", "400", "413", "422"}
    assert "201" in paths["/api/v1/rules"]["post"]["responses"]
    deleted = paths["/api/v1/rules/{rule_id}"]["delete"]["responses"]["204"]
    assert "content" not in deleted
    problem = paths["/api/v1/nodes/{node_id}"]["get"]["responses"]["404"]["content"]
    assert problem == {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
    }
    assert all("default" not in op["responses"] for ops in paths.values() for op in ops.values())
    assert paths["/api/v1/openapi.json"]["get"]["security"] == []


def test_every_list_is_declared_to_answer_the_one_page_envelope(app):
    document = build_document(app)
    paths = document["paths"]
    for path in ("/api/v1/rules", "/api/v1/channels", "/api/v1/risk/queue", "/api/v1/tokens"):
        answer = paths[path]["get"]["responses"]["200"]["content"]["application/json"]
        assert answer == {"schema": {"$ref": "#/components/schemas/Page"}}
    page = document["components"]["schemas"]["Page"]
    assert page["required"] == ["items", "limit", "offset", "next", "next_offset"]
    assert page["properties"]["next"]["nullable"] and page["properties"]["next_offset"]["nullable"]
    # A list of a fixed few is not a page.
    kinds = paths["/api/v1/channel-kinds"]["get"]["responses"]["200"]["content"]
    assert kinds == {"application/json": {}}


def test_the_document_and_the_docs_page_are_served(client):
    assert client.get("/api/v1/openapi.json").json["openapi"].startswith("3.")
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and "/api/v1/events" in page.get_data(as_text=True)


# Path parameter name -> ids of objects that exist in this test's database (api_objects).
EXISTING: dict[str, list[Any]] = {}


@pytest.fixture
def api_schema(app, client, auth):
    EXISTING.clear()
    EXISTING.update(existing_ids(client, auth))
    # The token comes from the `auth` fixture: generated (and negated) tokens would only test
    # that a valid token wins, and ignored_auth still strips and forges them.
    return schemathesis.from_dict(
        build_document(app),
        app=app,
        data_generation_methods=DataGenerationMethod.all(),
        generation_config=GenerationConfig(with_security_parameters=False),
    )


schema = schemathesis.from_pytest_fixture("api_schema")


@schema.hook("before_generate_path_parameters")
def _existing_objects_too(context: Any, strategy: st.SearchStrategy[Any]) -> Any:
    """Random ids nearly always miss (404); so each id may also be one of an existing object.
    Only a value of the declared type is swapped, so a negated parameter stays negated."""
    return strategy.flatmap(
        lambda params: (
            st.fixed_dictionaries(
                {name: st.sampled_from(_choices(name, value)) for name, value in params.items()}
            )
            if params
            else st.just(params)
        )
    )


def _choices(name: str, value: Any) -> list[Any]:
    known = EXISTING.get(name, [])
    return [value, *known] if known and type(value) is type(known[0]) else [value]


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzzing_every_operation_passes_every_check(case, auth):
    checks = _checks(case)
    # ignored_auth writes a forged token into case.headers, which is None without header params.
    case.headers = case.headers or {}
    response = case.call(headers=auth)
    case.validate_response(response, checks=checks, headers=auth)


def _checks(case: Any) -> tuple[Any, ...]:
    """Every check, except negative_data_rejection for the "negative" cases of schemathesis 3.39
    that negate nothing the server can see: an optional body left out (``strategy |
    just(NOT_SET)``) and nothing else generated, or an integer path parameter or query argument
    generated as a string of digits ("1" in a URL is the integer 1: ``?limit=9`` on a list) or as
    a one-item list of a valid one (``[9]`` is sent as ``?limit=9``), or a query argument that is
    not sent."""
    generated = [case.path_parameters, case.query, case.headers, case.cookies]
    omitted = case.body is NOT_SET and not any(generated)
    integers = {
        p["name"]: p["schema"]
        for p in case.operation.definition.raw.get("parameters", [])
        if p["schema"].get("type") == "integer"
    }
    in_url = {**(case.path_parameters or {}), **(case.query or {})}
    digits = any(
        name in integers and _sent_as_integer(value, integers[name])
        for name, value in in_url.items()
    )
    # A query argument whose value is None or a list of Nones is not sent at all (an undeclared
    # one, which the server refuses when sent, is generated so too); an empty one means its
    # default, as documented (allowEmptyValue).
    unsent = any(_unsent(value) for value in (case.query or {}).values())
    if omitted or unsent or (digits and case.data_generation_method.is_negative):
        return tuple(check for check in ALL_CHECKS if check is not negative_data_rejection)
    return ALL_CHECKS


def _sent_as_integer(value: Any, schema: dict[str, Any]) -> bool:
    """Whether a negated integer argument reaches the server as a valid one: a string of digits,
    or a one-item list (``?channel_id=0`` is how ``[0]`` is sent) of an integer within the
    declared bounds or of digits. A list of two is sent twice, which the server refuses."""
    if isinstance(value, list) and len(value) == 1:
        (item,) = value
        if isinstance(item, int) and not isinstance(item, bool):
            low, high = schema.get("minimum", -math.inf), schema.get("maximum", math.inf)
            return bool(low <= item <= high)
        value = item
    return isinstance(value, str) and value.isdigit()


def _unsent(value: Any) -> bool:
    if isinstance(value, list):
        return all(_unsent(item) for item in value)
    return value is None or value == ""


def test_a_nested_body_model_is_referenced_from_components(settings, engine):
    from flask import Blueprint
    from pydantic import BaseModel

    from quaywatch.http.openapi import body
    from quaywatch.web import create_app

    class Inner(BaseModel):
        value: int

    class Outer(BaseModel):
        inner: Inner

    extra = Blueprint("extra", __name__)

    @extra.post("/api/v1/nested")
    @body(Outer)
    def nested() -> dict[str, str]:
        """A route with a nested body."""
        return {}

    app = create_app(settings, engine)
    app.register_blueprint(extra)
    document = build_document(app)
    schema = document["paths"]["/api/v1/nested"]["post"]["requestBody"]["content"]
    assert schema["application/json"]["schema"]["properties"]["inner"]["$ref"] == (
        "#/components/schemas/Inner"
    )
    assert "Inner" in document["components"]["schemas"]


def test_the_document_is_valid_openapi_3_0(app):
    from jsonschema import Draft4Validator
    from schemathesis.specs.openapi.definitions import OPENAPI_30

    errors = sorted(
        Draft4Validator(OPENAPI_30).iter_errors(build_document(app)), key=lambda e: e.json_path
    )
    assert not errors, [f"{e.json_path}: {e.message[:120]}" for e in errors[:5]]
