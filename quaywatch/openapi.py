"""The OpenAPI 3 document and a docs page, built from the app's own routes.

Each route contributes its path parameters, methods and the first line of its view's docstring;
a view may declare a request body model with @body(Model) so the document carries its JSON
schema. Building from the url map keeps the document in step with the code: a route cannot exist
without being listed.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Flask, Response, current_app
from pydantic import BaseModel

F = TypeVar("F", bound=Callable[..., Any])
_PARAM = re.compile(r"<(?:(?P<conv>[a-z]+):)?(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)>")
_TYPES = {"int": {"type": "integer"}, "float": {"type": "number"}}

bp = Blueprint("openapi", __name__)


def body(model: type[BaseModel] | dict[str, Any], many: bool = False) -> Callable[[F], F]:
    """Declare the JSON body a view accepts (a pydantic model, or a JSON schema)."""

    def decorate(view: F) -> F:
        if isinstance(model, dict):
            schema, defs = model, {}
        else:
            # Nested models become components, referenced the OpenAPI way.
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            defs = schema.pop("$defs", {})
        view._openapi_body = {"type": "array", "items": schema} if many else schema  # type: ignore[attr-defined]
        view._openapi_defs = defs  # type: ignore[attr-defined]
        return view

    return decorate


def _operation(
    app: Flask, endpoint: str, method: str, params: list[dict[str, Any]]
) -> dict[str, Any]:
    view = app.view_functions[endpoint]
    doc = (view.__doc__ or endpoint).strip().splitlines()[0]
    operation: dict[str, Any] = {
        "operationId": f"{endpoint}.{method.lower()}",
        "summary": doc,
        "tags": [endpoint.split(".")[0]],
        "responses": {
            "200": {"description": "OK"},
            "default": {
                "description": "An error as application/problem+json",
                "content": {"application/problem+json": {"schema": {"type": "object"}}},
            },
        },
    }
    if params:
        operation["parameters"] = params
    schema = getattr(view, "_openapi_body", None)
    if method in ("POST", "PUT", "PATCH"):
        operation["requestBody"] = {
            "required": False,
            "content": {"application/json": {"schema": schema or {"type": "object"}}},
        }
    return operation


def build_document(app: Flask) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1") or rule.endpoint == "static":
            continue
        schemas.update(getattr(app.view_functions[rule.endpoint], "_openapi_defs", {}))
        params = [
            {
                "name": m["name"],
                "in": "path",
                "required": True,
                "schema": _TYPES.get(m["conv"] or "", {"type": "string"}),
            }
            for m in _PARAM.finditer(rule.rule)
        ]
        path = _PARAM.sub(lambda m: "{" + m["name"] + "}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(
                app, rule.endpoint, method, params
            )
    return {
        "openapi": "3.0.3",
        "info": {"title": "QuayWatch API", "version": "1"},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": dict(sorted(schemas.items())),
        },
        "security": [{"bearer": []}],
        "paths": dict(sorted(paths.items())),
    }


@bp.get("/api/v1/openapi.json")
def openapi_document() -> Any:
    """The OpenAPI 3 document of this API."""
    return build_document(current_app._get_current_object())  # type: ignore[attr-defined]


@bp.get("/api/v1/docs")
def docs_page() -> Response:
    """A page listing every operation."""
    document = build_document(current_app._get_current_object())  # type: ignore[attr-defined]
    rows = "".join(
        f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
        f"<td>{html.escape(op['summary'])}</td></tr>"
        for path, methods in document["paths"].items()
        for method, op in methods.items()
    )
    page = (
        "<!doctype html><meta charset=utf-8><title>QuayWatch API</title>"
        "<h1>QuayWatch API</h1><p>Machine-readable: <a href=openapi.json>openapi.json</a>. "
        "Authenticate with <code>Authorization: Bearer &lt;token&gt;</code>.</p>"
        f"<table border=1 cellpadding=4><tr><th>Method<th>Path<th>What</tr>{rows}</table>"
    )
    return Response(page, mimetype="text/html")
