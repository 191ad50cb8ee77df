"""The routes most resources share: the list (a page of what the token's subtree sees), one
object by id (404 for an id the token does not see), and the delete by id of a visible object.

Channels, silences, mute intervals and inhibit rules list, fetch and (except silences, which a
DELETE expires) delete this same way; only the query, the lookup by id, how a row is shown and
the store's delete differ, so each blueprint names those and these functions register the
views. The views are guarded by ``@allow(scope)`` and named by their endpoint, as a
hand-written view would be, so the OpenAPI document (quaywatch.http.openapi: endpoint, first
line of the docstring, declared query arguments, SUCCESS by endpoint) shows them the same way.
Other routes of a resource stay hand-written in its module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from flask import Blueprint
from sqlalchemy.engine import Connection

from quaywatch.http.routes import allow
from quaywatch.http.support import PAGE, listing
from quaywatch.web import app_engine

F = TypeVar("F", bound=Callable[..., Any])
Rows = Callable[[Connection, str, int, int], Sequence[Mapping[str, Any]]]
Shown = Callable[[dict[str, Any]], Any]


def add_list_route(
    bp: Blueprint, path: str, endpoint: str, rows: Rows, shown: Shown = dict, doc: str = ""
) -> None:
    """``GET path``: ``listing(rows, shown)``, a page of ``rows(conn, root, limit + 1,
    offset)``. ``doc`` is the operation's summary (without one, the document shows the
    endpoint, as for a view without a docstring)."""

    def view() -> Any:
        return listing(rows, shown)

    bp.add_url_rule(path, endpoint, allow("read", *PAGE)(_named(view, endpoint, doc)))


def add_get_route(
    bp: Blueprint,
    path: str,
    id_name: str,
    endpoint: str,
    visible: Callable[[Connection, int], dict[str, Any]],
    shown: Shown = dict,
) -> None:
    """``GET path/<int:id_name>``: ``shown(visible(conn, id))``; ``visible`` answers 404 for
    an id outside the token's subtree."""

    def view(**path_args: int) -> Any:
        with app_engine().connect() as conn:
            return shown(visible(conn, path_args[id_name]))

    rule = f"{path}/<int:{id_name}>"
    bp.add_url_rule(rule, endpoint, allow("read")(_named(view, endpoint, "")))


def add_delete_route(
    bp: Blueprint,
    path: str,
    id_name: str,
    endpoint: str,
    scope: str,
    visible: Callable[[Connection, int], object],
    delete: Callable[[Connection, int], object],
) -> None:
    """``DELETE path/<int:id_name>`` with ``scope``: ``visible(conn, id)`` (404 for an id
    outside the token's subtree), then ``delete(conn, id)`` in the same transaction; answers
    204 with no body (the endpoint must be in quaywatch.http.openapi.SUCCESS)."""

    def view(**path_args: int) -> Any:
        object_id = path_args[id_name]
        with app_engine().begin() as conn:
            visible(conn, object_id)
            delete(conn, object_id)
        return "", 204

    rule = f"{path}/<int:{id_name}>"
    bp.add_url_rule(rule, endpoint, allow(scope)(_named(view, endpoint, "")), methods=["DELETE"])


def _named(view: F, endpoint: str, doc: str) -> F:
    """The view under its endpoint's name (tracebacks and logs name it as a hand-written one)
    and with ``doc`` as its docstring (quaywatch.http.openapi reads the first line)."""
    view.__name__ = view.__qualname__ = endpoint
    view.__doc__ = doc or None
    return view
