"""quaywatch.http.support: every blueprint parses query arguments, pages and bodies the same way."""

from __future__ import annotations

import inspect
import re

import pytest
from api_objects import existing_ids
from flask import Blueprint, request

from quaywatch.http.openapi import build_document
from quaywatch.http.support import query_params
from quaywatch.web import create_app
from tests.alerter.helpers import create_channel

SITE = "5304-SHEKOU"
# One GET per blueprint that takes each kind of argument.
WHOLE_NUMBER_ARGS = [
    "/api/v1/rules?limit={}",
    "/api/v1/alerts?rule_id={}",
    "/api/v1/channels?offset={}",
    "/api/v1/deliveries?channel_id={}",
    "/api/v1/risk/queue?rule_id={}",
    "/api/v1/risk/rules?limit={}",
    f"/api/v1/metrics/{SITE}/clearance_time_p90_hours?hours={{}}",
    "/api/v1/lots/LOT-1?visit_no={}",
]


@pytest.mark.parametrize("path", WHOLE_NUMBER_ARGS)
def test_a_digit_int_cannot_read_is_a_400_naming_the_argument_not_a_server_error(
    client, auth, path
):
    # "²".isdigit() is True but int("²") raises: it used to be a 500 on every one of these.
    response = client.get(path.format("%C2%B2"), headers=auth)
    name = path.rsplit("?", 1)[1].split("=")[0]
    assert response.status_code == 400, response.json
    assert response.json["errors"][0]["field"] == name


@pytest.mark.parametrize(
    "path",
    [
        *(p.format("x") for p in WHOLE_NUMBER_ARGS),
        "/api/v1/alerts/history?since=yesterday",
        "/api/v1/deliveries?since=yesterday",
        "/api/v1/risk/queue?min_score=high",
        "/api/v1/risk/queue?reviewed=maybe",
        "/api/v1/forecasts/crossings?hours=x",
        "/api/v1/rules?enabled=yes",
    ],
)
def test_every_bad_query_argument_is_a_400_that_names_it_in_detail_and_errors(client, auth, path):
    response = client.get(path, headers=auth)
    name = path.rsplit("?", 1)[1].split("=")[0]
    assert response.status_code == 400, response.json
    assert response.json["title"] == "Invalid parameter"
    assert response.json["detail"].startswith(f"{name}: ")
    assert [e["field"] for e in response.json["errors"]] == [name]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/rules?limit=",
        "/api/v1/channels?limit=&offset=",
        "/api/v1/risk/queue?limit=&rule_id=",
        "/api/v1/forecasts/crossings?hours=",
        f"/api/v1/metrics/{SITE}/clearance_time_p90_hours?hours=",
    ],
)
def test_an_empty_query_argument_means_its_default(client, auth, path):
    assert client.get(path, headers=auth).status_code == 200


def test_a_delivery_list_whose_last_page_is_full_has_no_next_offset(client, auth, engine):
    for _ in range(3):
        create_channel(engine, "webhook", {"url": "http://127.0.0.1:9/hook"})
    first = client.get("/api/v1/channels?limit=2", headers=auth).json
    assert len(first["items"]) == 2 and first["next_offset"] == 2
    last = client.get("/api/v1/channels?limit=2&offset=2", headers=auth).json
    assert len(last["items"]) == 1 and last["next_offset"] is None
    exact = client.get("/api/v1/channels?limit=3", headers=auth).json
    # The page holds every channel: there is no next page (it used to say next_offset 3).
    assert len(exact["items"]) == 3 and exact["next_offset"] is None


ENVELOPE = {"items", "limit", "offset", "next", "next_offset"}


def test_every_list_answers_one_envelope_whose_next_link_and_offset_agree(client, auth, app):
    # The rules and the delivery lists used to page two ways (`next` or `next_offset`).
    existing = existing_ids(client, auth)
    document = build_document(app)
    lists = [
        path
        for path, operations in document["paths"].items()
        if "Page" in str(operations.get("get", {}).get("responses", {}).get("200"))
    ]
    assert {"/api/v1/rules", "/api/v1/channels", "/api/v1/risk/rules", "/api/v1/tokens"} <= set(
        lists
    )
    followed = 0
    for path in lists:
        url = re.sub(r"\{(\w+)\}", lambda m: str(existing[m[1]][0]), path) + "?limit=1"
        first = client.get(url, headers=auth)
        assert first.status_code == 200 and set(first.json) == ENVELOPE, (path, first.json)
        if first.json["next_offset"] is None:
            assert first.json["next"] is None
            continue
        followed += 1
        second = client.get(first.json["next"], headers=auth).json
        assert second["offset"] == first.json["next_offset"] == 1 and set(second) == ENVELOPE
    assert followed >= 3  # rules, tokens and indicators at least have a second page


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("post", "/api/v1/rules", 400),  # the rules API checks rule bodies itself
        ("post", "/api/v1/silences", 422),
        ("post", "/api/v1/risk/rules", 422),
    ],
)
def test_a_json_body_that_is_not_an_object_names_the_body(client, auth, method, path, status):
    response = client.open(path, method=method.upper(), json=[1], headers=auth)
    assert response.status_code == status
    assert response.json["errors"] == [{"field": "body", "reason": "must be a JSON object"}]


# --- declared query arguments: in the document, and nothing else accepted -------------------

# One route per package, each with a misspelt argument.
UNKNOWN_ARGS = [
    "/api/v1/rules?limt=5",
    "/api/v1/alerts?nod=5300",
    "/api/v1/channels?limit=5&ofset=1",
    "/api/v1/silences?page=2",
    "/api/v1/nodes?levle=site",
    f"/api/v1/metrics/{SITE}/clearance_time_p90_hours?hour=3",
    "/api/v1/risk/queue?min_scor=1",
    "/api/v1/risk/rules?nod=5300",
    "/api/v1/forecasts/crossings?nod=5300",
    "/api/v1/tokens?nod=5300",
]


@pytest.mark.parametrize("path", UNKNOWN_ARGS)
def test_an_undeclared_query_argument_is_a_400_naming_it_and_the_accepted_ones(client, auth, path):
    response = client.get(path, headers=auth)
    unknown = [a.split("=")[0] for a in path.split("?")[1].split("&")][-1]
    assert response.status_code == 400, response.json
    assert response.mimetype == "application/problem+json"
    assert response.json["errors"][0]["field"] == unknown
    assert response.json["detail"].startswith(f"{unknown}: is not a parameter")
    assert "accepted: " in response.json["detail"]


def test_an_undeclared_argument_is_refused_only_after_the_token_is_checked(client):
    assert client.get("/api/v1/rules?limt=5").status_code == 401


def test_a_declared_bound_is_checked_before_the_view(client, auth):
    # rule_id had no upper bound in the risk queue: 2**31 reached the int column.
    response = client.get(f"/api/v1/risk/queue?rule_id={2**31}", headers=auth)
    assert response.status_code == 400
    assert response.json["errors"][0]["field"] == "rule_id"


@pytest.mark.parametrize(
    "path, name",
    [
        ("/api/v1/deliveries?channel_id=1&channel_id=2", "channel_id"),
        ("/api/v1/alerts?node=2200&node=5300", "node"),
        ("/api/v1/rules?limit=5&limit=500", "limit"),
        ("/api/v1/risk/queue?min_score=0.5&min_score=", "min_score"),
    ],
)
def test_an_argument_given_twice_is_a_400_naming_it_not_the_first_value(client, auth, path, name):
    # Reading only the first of two values would act on another value than a proxy logs.
    response = client.get(path, headers=auth)
    assert response.status_code == 400, response.json
    assert response.json["errors"] == [{"field": name, "reason": "must be given once"}]


# A view reads query arguments when it calls request.args or a helper that does.
READS_ARGS = re.compile(
    r"request\.args|\b(int_arg|float_arg|bool_arg|time_arg|filters|page_args|listing"
    r"|filtered_page|node_arg)\("
)


def _reads_args(view):
    return bool(READS_ARGS.search(inspect.getsource(inspect.unwrap(view))))


def test_every_route_that_reads_query_arguments_declares_them_in_the_document(app):
    document = build_document(app)
    undeclared, missing = [], []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if not rule.rule.startswith("/api/v1") or not _reads_args(view):
            continue
        declared = query_params(view)
        if declared is None:
            undeclared.append(rule.endpoint)
            continue
        path = re.sub(r"<(?:[a-z]+:)?(\w+)>", r"{\1}", rule.rule)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            operation = document["paths"][path][method.lower()]
            in_query = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
            if set(in_query) != {p.name for p in declared}:
                missing.append((rule.endpoint, method))
            assert all("type" in p["schema"] for p in in_query.values())
    assert undeclared == [], "add @query(...) (quaywatch.http.support) to these views"
    assert missing == []


def test_the_page_arguments_are_documented_with_their_bounds(app):
    parameters = build_document(app)["paths"]["/api/v1/rules"]["get"]["parameters"]
    limit = next(p for p in parameters if p["name"] == "limit")
    assert limit == {
        "name": "limit",
        "in": "query",
        "required": False,
        "allowEmptyValue": True,
        "description": "page size",
        "schema": {"type": "integer", "minimum": 1, "maximum": 500},
    }


def test_a_route_without_a_declaration_accepts_any_argument(settings, engine):
    extra = Blueprint("extra_args", __name__)

    @extra.get("/api/v1/undeclared")
    def undeclared() -> dict[str, str]:
        """A new route that has not declared its arguments yet."""
        return {"limit": request.args.get("limit", "")}

    app = create_app(settings, engine)
    app.register_blueprint(extra)
    assert app.test_client().get("/api/v1/undeclared?limit=3&anything=1").json == {"limit": "3"}
    assert "parameters" not in build_document(app)["paths"]["/api/v1/undeclared"]["get"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/nodes/CN?lang=en"),
        ("post", "/api/v1/rules?dry_run=true"),
        ("post", "/api/v1/events?dry_run=true"),
        ("delete", "/api/v1/tokens/999999?force=true"),
    ],
)
def test_a_route_that_reads_no_argument_refuses_any(client, auth, method, path):
    # Silently ignoring ?dry_run=true on a write would store what the caller meant to try.
    response = client.open(path, method=method.upper(), json=[], headers=auth)
    assert response.status_code == 400, response.json
    assert response.json["detail"].endswith("(accepted: none)")
