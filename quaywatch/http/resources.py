"""The two read routes most resources have: the list (a page of what the token's subtree sees)
and one object by id (404 for an id the token does not see). Writes nothing.

Channels, silences, mute intervals and inhibit rules list and fetch this same way; only the
query, the lookup by id and how a row is shown differ, so each blueprint names those and
these functions register the views. The views are guarded by ``@allow("read", ...)`` and
named by their endpoint, as a hand-written view would be, so the OpenAPI document
(quaywatch.http.openapi: endpoint, first line of the docstring, declared query arguments)
shows them the same way. Other routes of a resource stay hand-written in its module.
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


def _named(view: F, endpoint: str, doc: str) -> F:
    """The view under its endpoint's name (tracebacks and logs name it as a hand-written one)
    and with ``doc`` as its docstring (quaywatch.http.openapi reads the first line)."""
    view.__name__ = view.__qualname__ = endpoint
    view.__doc__ = doc or None
    return view
