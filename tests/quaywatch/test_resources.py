"""quaywatch.http.resources: the list, get and delete routes it registers answer and are
documented as hand-written ones would be."""

from __future__ import annotations

import pytest
from flask import Blueprint

from quaywatch.http.openapi import build_document
from quaywatch.http.resources import add_delete_route, add_get_route, add_list_route
from quaywatch.http.support import found_one
from quaywatch.web import create_app
from tests.conftest import make_token

BOATS = [{"boat_id": n, "name": f"boat {n}"} for n in (1, 2, 3)]


def _rows(conn, root, limit, offset):
    return BOATS[offset : offset + limit]


def _visible(conn, boat_id):
    return found_one([b for b in BOATS if b["boat_id"] == boat_id], "boat", boat_id)


def _shown(row):
    return {**row, "shown": True}


@pytest.fixture
def deleted():
    return []


@pytest.fixture
def app(settings, engine, deleted):
    boats = Blueprint("boats", __name__, url_prefix="/api/v1")
    add_list_route(
        boats, "/boats", "list_boats", _rows, _shown, doc="Boats in the token's subtree."
    )
    add_get_route(boats, "/boats", "boat_id", "get_boat", _visible, _shown)
    add_delete_route(
        boats,
        "/boats",
        "boat_id",
        "delete_boat",
        "channels:write",
        _visible,
        lambda conn, boat_id: deleted.append(boat_id),
    )
    app = create_app(settings, engine)
    app.testing = True
    app.register_blueprint(boats)
    return app


def test_the_list_is_a_page_of_shown_rows(client, auth):
    response = client.get("/api/v1/boats?limit=2", headers=auth)

    assert response.status_code == 200, response.json
    assert [b["boat_id"] for b in response.json["items"]] == [1, 2]
    assert all(b["shown"] for b in response.json["items"])
    assert response.json["next_offset"] == 2


def test_one_object_is_shown_and_an_id_not_visible_is_a_404(client, auth):
    assert client.get("/api/v1/boats/3", headers=auth).json == {**BOATS[2], "shown": True}
    assert client.get("/api/v1/boats/9", headers=auth).status_code == 404


def test_both_need_the_read_scope_first_and_the_get_takes_no_query_arguments(client, auth):
    assert client.get("/api/v1/boats?limt=5").status_code == 401
    assert client.get("/api/v1/boats/1").status_code == 401
    assert client.get("/api/v1/boats/1?limit=5", headers=auth).status_code == 400


def test_the_document_shows_the_endpoints_their_summaries_and_the_page_arguments(app):
    paths = build_document(app)["paths"]
    listed, fetched = paths["/api/v1/boats"]["get"], paths["/api/v1/boats/{boat_id}"]["get"]

    assert listed["operationId"] == "boats.list_boats.get"
    assert listed["summary"] == "Boats in the token's subtree."
    assert {p["name"] for p in listed["parameters"]} == {"limit", "offset"}
    # No doc: the summary is the endpoint, as for a hand-written view without a docstring.
    assert fetched["summary"] == "boats.get_boat"
    assert fetched["parameters"] == [
        {"name": "boat_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    ]


def test_a_delete_checks_visibility_then_deletes_and_answers_204_without_a_body(
    client, auth, deleted
):
    assert client.delete("/api/v1/boats/9", headers=auth).status_code == 404
    assert deleted == []

    response = client.delete("/api/v1/boats/2", headers=auth)

    assert (response.status_code, response.data) == (204, b"")
    assert deleted == [2]


def test_a_delete_needs_its_scope_first_and_takes_no_query_arguments(client, engine, auth, deleted):
    viewer = {"Authorization": f"Bearer {make_token(engine, 'viewer')}"}
    assert client.delete("/api/v1/boats/1?force=1").status_code == 401
    assert client.delete("/api/v1/boats/1", headers=viewer).status_code == 403
    assert client.delete("/api/v1/boats/1?force=1", headers=auth).status_code == 400
    assert deleted == []


def test_the_document_shows_the_delete_under_its_endpoint_with_the_path_argument(app):
    deleting = build_document(app)["paths"]["/api/v1/boats/{boat_id}"]["delete"]

    assert deleting["operationId"] == "boats.delete_boat.delete"
    assert deleting["summary"] == "boats.delete_boat"
    assert deleting["parameters"] == [
        {"name": "boat_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    ]
