"""The OpenAPI 3 document and a docs page, built from the app's own routes.

Each route contributes its path parameters, methods and the first line of its view's docstring;
a view may declare a request body model with @body(Model) so the document carries its JSON
schema (or a JSON schema of its own, with the components it refers to, where the document says
more than the model: the channel bodies, one schema per kind), and its query arguments with
quaywatch.http.support.query (``in: query``, with schema). Building from the url map keeps the
document in step with the code: a route cannot exist without being listed.

Responses are declared as the views give them: the success status (SUCCESS; 200 unless listed,
202 and a BatchResult for batch ingest), no content on 204, a Page for every list (a view that
declares the page arguments, quaywatch.http.support.page), and each error the operation may
answer as application/problem+json (the Problem schema, ApiError.to_problem()). There is no
"default" response, so a status the document does not name fails the fuzz test.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any, TypeVar

from flask import Blueprint, Flask, Response, current_app
from pydantic import BaseModel

from quaywatch.http.query import LIMIT, MAX_LIMIT, OFFSET

F = TypeVar("F", bound=Callable[..., Any])
_PARAM = re.compile(r"<(?:(?P<conv>[a-z]+):)?(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)>")
_TYPES = {"int": {"type": "integer"}, "float": {"type": "number"}}

bp = Blueprint("openapi", __name__)


# Success statuses other than 200, by endpoint (read from the views). The fuzz test checks every
# answer's status against this document, so a view that answers otherwise fails it.
SUCCESS: dict[str, int] = {
    "alerter_rules.rules.create_rule": 201,
    "alerter_rules.rules.delete_override": 204,
    "alerter_rules.rules.delete_rule": 204,
    "delivery.create_channel": 201,
    "delivery.delete_channel": 204,
    "delivery.inhibit_rules.create_inhibit_rule": 201,
    "delivery.inhibit_rules.delete_inhibit_rule": 204,
    "delivery.retry_dead_letter": 202,
    "delivery.silences.create_mute_interval": 201,
    "delivery.silences.create_silence": 201,
    "delivery.silences.delete_mute_interval": 204,
    "indicators.create_indicator": 201,
    "indicators.retire_indicator": 204,
    "risk.risk_rules.create_rule": 201,
    "tokens.create_token": 201,
}
# Errors beyond the ones every operation of its method may give.
EXTRA_ERRORS: dict[str, tuple[int, ...]] = {
    "alerter_rules.rules.replace_rule": (412,),
    "alerter_rules.rules.patch_rule": (412,),
}
_READ_ERRORS = (400, 401, 403, 404, 503)
_WRITE_ERRORS = (*_READ_ERRORS, 409, 422)
_BODY_ERRORS = (*_WRITE_ERRORS, 413)

# quaywatch.errors.ApiError.to_problem(), as every error of this API is answered (RFC 9457).
PROBLEM: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "index": {"type": "integer"},
                    "field": {"type": "string"},
                    "reason": {"type": "string"},
                },
            },
        },
    },
}
# What a batch ingest route answers, on 202 and on 422 (when no item was accepted).
BATCH_RESULT: dict[str, Any] = {
    "type": "object",
    "required": ["accepted", "stored", "duplicates", "rejected", "accepted_ids", "errors"],
    "properties": {
        "accepted": {"type": "integer", "minimum": 0},
        "stored": {"type": "integer", "minimum": 0},
        "duplicates": {"type": "integer", "minimum": 0},
        "rejected": {"type": "integer", "minimum": 0},
        "accepted_ids": {"type": "array", "items": {"type": "string"}},
        "errors": {"type": "array", "items": PROBLEM["properties"]["errors"]["items"]},
    },
}
# quaywatch.http.support.page(): what every list answers. The next page is given both ways,
# as a link and as its offset, each null on the last page.
PAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["items", "limit", "offset", "next", "next_offset"],
    "properties": {
        "items": {"type": "array", "items": {}},
        "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
        "offset": {"type": "integer", "minimum": 0},
        "next": {"type": "string", "nullable": True, "description": "the next page's URL"},
        "next_offset": {"type": "integer", "minimum": 1, "nullable": True},
    },
}
_COMPONENTS = {"Problem": PROBLEM, "BatchResult": BATCH_RESULT, "Page": PAGE_SCHEMA}
_NAMED = ("properties", "patternProperties")
_DATA = ("default", "example")  # values, not schemas: written as they are


def body(
    model: type[BaseModel] | dict[str, Any],
    many: bool = False,
    components: Mapping[str, Any] | None = None,
) -> Callable[[F], F]:
    """Declare the JSON body a view accepts (a pydantic model, or a JSON schema with the
    ``components`` its ``#/components/schemas/...`` references name). ``many``: a batch ingest
    route, taking a JSON array or NDJSON and answering a BatchResult."""

    def decorate(view: F) -> F:
        if isinstance(model, dict):
            schema, defs = model, dict(components or {})
        else:
            # Nested models become components, referenced the OpenAPI way.
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            defs = schema.pop("$defs", {})
        view._openapi_body = {"type": "array", "items": schema} if many else schema  # type: ignore[attr-defined]
        view._openapi_defs = defs  # type: ignore[attr-defined]
        view._openapi_batch = many  # type: ignore[attr-defined]
        return view

    return decorate


def public(view: F) -> F:
    """Declare a view that needs no token (the document must not claim it does)."""
    view._openapi_public = True  # type: ignore[attr-defined]
    return view


def answers(media_type: str) -> Callable[[F], F]:
    """Declare the media type of a view's answer when it is not JSON."""

    def decorate(view: F) -> F:
        view._openapi_content = {media_type: {}}  # type: ignore[attr-defined]
        return view

    return decorate


def _responses(endpoint: str, method: str, view: Any) -> dict[str, Any]:
    batch = getattr(view, "_openapi_batch", False)
    success = 202 if batch else SUCCESS.get(endpoint, 200)
    answer: dict[str, Any] = {"description": "OK"}
    if batch:
        answer["content"] = {"application/json": {"schema": _ref("BatchResult")}}
    elif _is_list(view):
        answer["content"] = {"application/json": {"schema": _ref("Page")}}
    elif success != 204:  # a 204 has no body
        answer["content"] = getattr(view, "_openapi_content", {"application/json": {}})
    responses = {str(success): answer}
    common = {"GET": _READ_ERRORS, "DELETE": _WRITE_ERRORS}.get(method, _BODY_ERRORS)
    for status in (*common, *EXTRA_ERRORS.get(endpoint, ())):
        responses[str(status)] = {
            "description": HTTPStatus(status).phrase,
            "content": {"application/problem+json": {"schema": _ref("Problem")}},
        }
    if batch:  # every item rejected: a problem that carries the same summary
        both = {"allOf": [_ref("Problem"), _ref("BatchResult")]}
        responses["422"] = {
            "description": "No item accepted",
            "content": {"application/problem+json": {"schema": both}},
        }
    responses["503"]["headers"] = {
        "Retry-After": {"required": True, "schema": {"type": "integer", "minimum": 1}}
    }
    return dict(sorted(responses.items()))


def _is_list(view: Any) -> bool:
    """A list declares the page arguments (``@query(*PAGE, ...)``) and answers a page."""
    declared = getattr(view, "_query_params", ())
    return LIMIT in declared and OFFSET in declared


def _operation(
    app: Flask, endpoint: str, method: str, params: list[dict[str, Any]]
) -> dict[str, Any]:
    view = app.view_functions[endpoint]
    doc = (view.__doc__ or endpoint).strip().splitlines()[0]
    operation: dict[str, Any] = {
        "operationId": f"{endpoint}.{method.lower()}",
        "summary": doc,
        "tags": [endpoint.split(".")[0]],
        "responses": _responses(endpoint, method, view),
    }
    if getattr(view, "_openapi_public", False):
        operation["security"] = []
    params = [*params, *_query_parameters(view)]
    if params:
        operation["parameters"] = params
    schema = getattr(view, "_openapi_body", None)
    if schema is not None:  # a view that declares no body reads none
        schema = openapi30(schema)
        content = {"application/json": {"schema": schema}}
        if getattr(view, "_openapi_batch", False):
            content["application/x-ndjson"] = {"schema": schema}
        operation["requestBody"] = {"required": False, "content": content}
    return operation


def _query_parameters(view: Any) -> list[dict[str, Any]]:
    """The query arguments the view declares with quaywatch.http.support.query."""
    return [
        {
            "name": param.name,
            "in": "query",
            "required": param.required,
            "allowEmptyValue": not param.required,  # empty means the default (http_api)
            **({"description": param.description} if param.description else {}),
            "schema": param.schema(),
        }
        for param in getattr(view, "_query_params", ())
    ]


def openapi30(node: Any) -> Any:
    """A JSON Schema 2020-12 (pydantic's output) in OpenAPI 3.0's dialect: ``{"type": "null"}``
    alternatives become ``nullable``, ``const`` a one-value ``enum``, and numeric
    ``exclusiveMinimum``/``exclusiveMaximum`` the 3.0 boolean forms, and ``patternProperties``
    (which 3.0 lacks) ``additionalProperties`` of the pattern's schema, the pattern kept as
    ``x-patternProperties``; the server still checks the keys."""
    if isinstance(node, list):
        return [openapi30(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {
        # The keys of ``properties`` are field names, never keywords.
        key: {k: openapi30(v) for k, v in value.items()} if key in _NAMED else openapi30(value)
        for key, value in node.items()
        if key not in _DATA
    }
    out |= {key: node[key] for key in _DATA if key in node}
    if "const" in out:
        out["enum"] = [out.pop("const")]
    for exclusive, inclusive in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if not isinstance(out.get(exclusive, True), bool):
            out[inclusive], out[exclusive] = out[exclusive], True
    patterns = out.pop("patternProperties", None)
    if patterns:
        out["x-patternProperties"] = patterns
        schemas = list(patterns.values())
        out["additionalProperties"] = schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
    options = out.get("anyOf", [])
    if {"type": "null"} in options:
        rest = [option for option in options if option != {"type": "null"}]
        del out["anyOf"]
        if len(rest) == 1 and "$ref" not in rest[0]:
            out = {**rest[0], **out}
        else:
            out["anyOf" if len(rest) > 1 else "allOf"] = rest
        out["nullable"] = True
    return out


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def build_document(app: Flask) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = dict(_COMPONENTS)
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
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
            "schemas": {name: openapi30(schemas[name]) for name in sorted(schemas)},
        },
        "security": [{"bearer": []}, {"apiKey": []}],
        "paths": dict(sorted(paths.items())),
    }


@bp.get("/api/v1/openapi.json")
@public
def openapi_document() -> Any:
    """The OpenAPI 3 document of this API."""
    return build_document(current_app._get_current_object())  # type: ignore[attr-defined]


@bp.get("/api/v1/docs")
@public
@answers("text/html")
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
