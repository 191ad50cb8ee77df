"""Which codes an owner may create: below the nation, only codes in the owner's namespace.

Codes are unique nationwide (rules, metric points and the forecaster name indicators by code),
so a create whose code is taken must fail. If any code were open to any customs, that 409
would tell a customs that the code exists in a tree it cannot see. So an indicator owned by a
node below CN starts with that node's namespace, `n<node id>__` (lower-case, other characters
as `_`: `n2300__`, `n2301_longtan__`), and a code created at CN contains no `__`, so it is in
no namespace. A taken code is then the owner's own (in the caller's subtree), a national one
(published, or created at CN) or a built-in: all of them visible to the caller, so the 409
says nothing new. Publishing keeps the code, so a national code may carry the namespace of
the node that proposed it.
"""

from __future__ import annotations

import re

from collector.indicators.store import NATIONAL

SEPARATOR = "__"


def namespace(node_id: str) -> str:
    """The prefix of the codes owned by `node_id` (a node below CN)."""
    return "n" + re.sub(r"[^a-z0-9]", "_", node_id.lower()) + SEPARATOR


def code_problem(code: str, owner: str) -> str | None:
    """Why `code` may not be created owned by `owner`; None when it may."""
    if owner == NATIONAL:
        if SEPARATOR in code:
            return f"a national code contains no {SEPARATOR!r} (it marks a node's namespace)"
        return None
    prefix = namespace(owner)
    if not code.startswith(prefix) or code == prefix:
        return f"an indicator owned by {owner} has a code starting with {prefix!r}"
    return None
