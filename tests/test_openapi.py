"""The OpenAPI document covers every route, and fuzzing it never produces a server error."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from quaywatch.openapi import build_document


def test_the_document_lists_every_api_route_with_the_event_schema(app):
    document = build_document(app)
    api_rules = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1")}
    assert len(document["paths"]) == len(api_rules)
    events = document["paths"]["/api/v1/events"]["post"]
    item = events["requestBody"]["content"]["application/json"]["schema"]["items"]
    assert {"event_id", "kind", "occurred_at", "site_id", "lot_id"} <= set(item["required"])


def test_the_document_and_the_docs_page_are_served(client):
    assert client.get("/api/v1/openapi.json").json["openapi"].startswith("3.")
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and "/api/v1/events" in page.get_data(as_text=True)


@pytest.fixture
def api_schema(app):
    return schemathesis.from_dict(build_document(app), app=app)


schema = schemathesis.from_pytest_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzzing_the_api_never_gives_a_server_error(case, auth):
    response = case.call_wsgi(headers=auth)
    case.validate_response(response, checks=(not_a_server_error,))


def test_a_nested_body_model_is_referenced_from_components(settings, engine):
    from flask import Blueprint
    from pydantic import BaseModel

    from quaywatch.openapi import body
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
