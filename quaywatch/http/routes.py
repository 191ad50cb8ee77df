"""The access line of a route: who may call it and which query arguments it accepts.

Every API route checks the token's scope (``quaywatch.security.auth.require``), then the query
arguments (``quaywatch.http.query.query``), in that order, so a caller without a token learns
nothing about the arguments (401 before 400). ``allow`` is the two in that order, one line
under the route's path; the body model, where a route documents one, stays its own decorator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from quaywatch.http.query import Param, query
from quaywatch.security.auth import require

F = TypeVar("F", bound=Callable[..., Any])


def allow(scope: str, *params: Param) -> Callable[[F], F]:
    """``@require(scope)`` over ``@query(*params)``: 401/403 without ``scope``, then 400 for an
    argument not in ``params`` (none: the route takes no query arguments)."""

    def decorate(view: F) -> F:
        return require(scope)(query(*params)(view))

    return decorate
