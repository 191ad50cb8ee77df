"""The Flask application factory: JSON problem errors, health, /metrics, and each package's blueprint.

Blueprints are imported inside create_app so importing quaywatch does nothing (flaskr's shape).
"""

from __future__ import annotations

from typing import Any

import psycopg
from flask import Flask, Response, current_app, g, jsonify, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import Engine, text
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from quaywatch.db import Outage, make_engine
from quaywatch.errors import ApiError
from quaywatch.http.request_body import is_json, request_json
from quaywatch.optional import import_optional
from quaywatch.settings import Settings

# Each package contributes a blueprint; a package that is not installed is simply absent.
BLUEPRINTS = (
    "collector.api:bp",
    "collector.indicators.api:bp",
    "forecaster.api:bp",
    "alerter.api:bp",
    "alerter.delivery.api:bp",
    "collector.risk.api:bp",
    "quaywatch.security.tokens_api:bp",
)


class Telemetry:
    """Prometheus metrics of one app instance (a registry per app, so tests can build many)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events_accepted = Counter(
            "quaywatch_events_accepted", "Cargo events stored", ["source"], registry=self.registry
        )
        self.events_rejected = Counter(
            "quaywatch_events_rejected",
            "Cargo events rejected by validation",
            ["source"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "quaywatch_http_request_duration_seconds",
            "HTTP request latency",
            ["endpoint"],
            registry=self.registry,
        )


def create_app(
    settings: Settings, engine: Engine | None = None, outage: Outage | None = None
) -> Flask:
    """The app; `outage` is shared with the service's other roles so an outage is logged once."""
    app = Flask("quaywatch")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions["quaywatch.settings"] = settings
    app.extensions["quaywatch.engine"] = engine or make_engine(settings)
    app.extensions["quaywatch.telemetry"] = Telemetry()
    app.extensions["quaywatch.outage"] = outage or Outage(app.logger)
    _register_errors(app)
    _register_health(app)
    for target in BLUEPRINTS:
        module_name, _, attr = target.partition(":")
        module = import_optional(module_name)
        if module is not None:
            app.register_blueprint(getattr(module, attr))
    from quaywatch.http.openapi import bp as openapi_bp

    app.register_blueprint(openapi_bp)
    return app


def app_engine() -> Engine:
    engine: Engine = current_app.extensions["quaywatch.engine"]
    return engine


def app_settings() -> Settings:
    settings: Settings = current_app.extensions["quaywatch.settings"]
    return settings


def app_telemetry() -> Telemetry:
    telemetry: Telemetry = current_app.extensions["quaywatch.telemetry"]
    return telemetry


def problem(error: ApiError) -> Response:
    response = jsonify(error.to_problem())
    response.status_code = error.status
    response.mimetype = "application/problem+json"
    for key, value in error.headers.items():
        response.headers[key] = value
    return response


def batch_answer(summary: dict[str, Any]) -> Response:
    """A batch ingest's answer: 202 with the summary when any item was accepted (or the batch
    was empty), else a 422 problem carrying the same summary as extension members."""
    if summary["accepted"] or not summary["errors"]:
        response = jsonify(summary)
        response.status_code = 202
        return response
    first = summary["errors"][0]
    detail = f"no item accepted; item {first['index']}: {first['field']}: {first['reason']}"
    response = jsonify({**ApiError(422, "No item accepted", detail).to_problem(), **summary})
    response.status_code = 422
    response.mimetype = "application/problem+json"
    return response


def _register_errors(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        return problem(error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        # Werkzeug's own answers (404, 405, 413, 415, ...) as problems too, keeping their
        # headers (405's Allow) but not their HTML content type.
        detail = error.description or ""
        if error.code == 413:
            limit = app.config["MAX_CONTENT_LENGTH"]
            detail = f"request body is larger than the limit of {limit} bytes"
        headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        return problem(ApiError(error.code or 500, error.name, detail, headers=headers))

    def unavailable(error: Exception) -> Response:
        # Nothing was committed: the client may retry the same request later. One log line
        # per outage, not one per request.
        if not app.extensions["quaywatch.outage"].failed("the API", error):
            app.logger.warning("database unavailable: %s", type(error).__name__)
        return problem(
            ApiError(
                503,
                "Database unavailable",
                "nothing was stored; retry later",
                headers={"Retry-After": "5"},
            )
        )

    def bad_text(error: Exception) -> Response:
        # PostgreSQL text cannot hold NUL; anything else the driver refuses is a client error too.
        return problem(
            ApiError(
                400,
                "Invalid value",
                "a value cannot be stored as given (text must not contain NUL characters)",
            )
        )

    app.register_error_handler(DataError, bad_text)
    app.register_error_handler(psycopg.DataError, bad_text)

    def null_value(error: Exception) -> Response:
        # A client's explicit null for a value that cannot be empty (a PATCH {"name": null}):
        # nothing was stored (the transaction rolled back); name the field, like validation.
        orig = getattr(error, "orig", error)
        if not isinstance(orig, psycopg.errors.NotNullViolation):
            raise error
        field = orig.diag.column_name or "body"
        return problem(
            ApiError(
                422,
                "Invalid request",
                f"{field}: must not be null",
                [{"field": field, "reason": "must not be null"}],
            )
        )

    app.register_error_handler(IntegrityError, null_value)
    app.register_error_handler(psycopg.errors.NotNullViolation, null_value)

    @app.before_request
    def refuse_nul_in_url() -> Response | None:
        values = list((request.view_args or {}).values()) + list(request.args.values())
        if any(isinstance(v, str) and "\x00" in v for v in values):
            return problem(ApiError(400, "Invalid value", "URL parameters must not contain NUL"))
        return None

    @app.before_request
    def refuse_loose_json() -> None:
        # One strict check of every JSON body before any view runs (see quaywatch.http.request_body);
        # NDJSON is checked line by line by the batch reader instead.
        if request.method in ("POST", "PUT", "PATCH") and is_json(request.content_type or ""):
            request_json()

    app.register_error_handler(OperationalError, unavailable)
    app.register_error_handler(psycopg.OperationalError, unavailable)

    @app.after_request
    def database_answered(response: Response) -> Response:
        # An answer that needed the database (a token was checked, or readiness) means it is
        # back; /healthz and the documentation never touch it.
        outage = app.extensions["quaywatch.outage"]
        touched = request.path == "/readyz" or getattr(g, "principal", None) is not None
        if outage.down and touched and response.status_code < 500:
            outage.ok()
        return response

    @app.errorhandler(DBAPIError)
    def database_error(error: DBAPIError) -> Response:
        if error.connection_invalidated:
            return unavailable(error)
        raise error


def _register_health(app: Flask) -> None:
    @app.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> Any:
        with app_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ready"}

    @app.get("/metrics")
    def metrics() -> Response:
        registry = app_telemetry().registry
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
