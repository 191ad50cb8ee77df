"""Inhibit rules under /api/v1/inhibit-rules (nested in ``delivery.api.bp``).

Writes through delivery.suppression.inhibit_rules (inhibit_rule, and its audit_log rows).

A rule belongs to a node (the token's own by default, or one in its subtree) and applies only
to alerts raised inside that node's subtree. A token sees and changes only the rules owned in
its subtree; any other id answers 404, as if absent. The shipped rule (no data mutes threshold
and forecast alerts) is a national row: only a national token can disable or change it. One
body model serves POST and PATCH: a PATCH changes the fields it names; ``null`` is refused for
every field (422 naming it). Scopes: ``read`` for GET, ``rules:write`` for changes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from flask import Blueprint
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from sqlalchemy.engine import Connection

from alerter.delivery.matchers import Matcher
from alerter.delivery.suppression import inhibit_rules
from alerter.delivery.suppression.inhibition import LABEL_NAME
from alerter.rules.store import Actor
from quaywatch.http.openapi import body as doc_body
from quaywatch.http.resources import add_delete_route, add_get_route, add_list_route
from quaywatch.http.routes import allow
from quaywatch.http.support import (
    body,
    field_problem,
    found_one,
    inline_schema,
    jsonable,
    not_found,
    own_node,
    principal,
    unique,
)
from quaywatch.web import app_engine

bp = Blueprint("inhibit_rules", __name__)
MAX_ID = 2**31 - 1  # inhibit_rule_id is an int column
MAX_MATCHERS = 20
LabelName = Annotated[str, StringConstraints(pattern=LABEL_NAME.pattern, max_length=100)]


class InhibitRuleBody(BaseModel):
    """A rule for POST (name and both matcher lists required) or PATCH (any field)."""

    model_config = ConfigDict(extra="forbid")

    # Defaults are never stored: POST checks the required fields are set, PATCH writes only
    # the fields sent, so no field needs to accept null.
    name: str = Field("", min_length=1, max_length=200)
    node_id: str = Field("", min_length=1, max_length=100)
    source_matchers: list[Matcher] = Field(
        default_factory=list, min_length=1, max_length=MAX_MATCHERS
    )
    target_matchers: list[Matcher] = Field(
        default_factory=list, min_length=1, max_length=MAX_MATCHERS
    )
    equal: list[LabelName] = Field(default_factory=list, max_length=20)
    enabled: bool = True

    @field_validator("equal")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        repeated = sorted({n for n in value if value.count(n) > 1})
        if repeated:
            raise ValueError(f"repeats {', '.join(repeated)}")
        return value


REQUIRED = ("name", "source_matchers", "target_matchers")
CREATE_SCHEMA = {**inline_schema(InhibitRuleBody), "required": list(REQUIRED)}


def _actor() -> Actor:
    caller = principal()
    return Actor(caller.name, caller.token_id, caller.node_id)


def _columns(rule: InhibitRuleBody) -> dict[str, Any]:
    """The fields the body set, as columns (node_id is checked by the caller)."""
    values = rule.model_dump(exclude_unset=True, exclude={"node_id"})
    for field in ("source_matchers", "target_matchers"):
        if field in values:
            values[field] = [m.model_dump() for m in getattr(rule, field)]
    return values


def _shown(row: dict[str, Any]) -> dict[str, Any]:
    return {**jsonable(row), "equal": list(row["equal"])}


def _visible(conn: Connection, rule_id: int) -> dict[str, Any]:
    """The rule if the token's subtree owns it; 404 naming only the id otherwise."""
    if not 1 <= rule_id <= MAX_ID:
        raise not_found("inhibit rule", rule_id)
    found = inhibit_rules.owned(conn, principal().node_id, 1, 0, rule_id)
    return found_one(found, "inhibit rule", rule_id)


add_list_route(
    bp,
    "/inhibit-rules",
    "list_inhibit_rules",
    inhibit_rules.owned,
    _shown,
    doc="Inhibit rules owned in the token's subtree, oldest first.",
)
add_get_route(bp, "/inhibit-rules", "inhibit_rule_id", "get_inhibit_rule", _visible, _shown)


@bp.post("/inhibit-rules")
@allow("rules:write")
@doc_body(CREATE_SCHEMA)
def create_inhibit_rule() -> Any:
    new = body(InhibitRuleBody)
    for field in REQUIRED:
        if field not in new.model_fields_set:
            raise field_problem(field, "Field required")
    values = _columns(new)
    with unique("name", "an inhibit rule"), app_engine().begin() as conn:
        values["node_id"] = own_node(conn, new.node_id or None)
        rule_id = inhibit_rules.create(conn, values, _actor())
        return _shown(_visible(conn, rule_id)), 201


@bp.patch("/inhibit-rules/<int:inhibit_rule_id>")
@allow("rules:write")
@doc_body(inline_schema(InhibitRuleBody))
def update_inhibit_rule(inhibit_rule_id: int) -> Any:
    patch = body(InhibitRuleBody)
    values = _columns(patch)
    with unique("name", "an inhibit rule"), app_engine().begin() as conn:
        _visible(conn, inhibit_rule_id)
        if "node_id" in patch.model_fields_set:
            values["node_id"] = own_node(conn, patch.node_id)
        inhibit_rules.update(conn, inhibit_rule_id, values, _actor(), datetime.now(UTC))
        return _shown(_visible(conn, inhibit_rule_id))


def _delete(conn: Connection, inhibit_rule_id: int) -> None:
    """The store's delete, audited under the calling token."""
    inhibit_rules.delete(conn, inhibit_rule_id, _actor())


add_delete_route(
    bp,
    "/inhibit-rules",
    "inhibit_rule_id",
    "delete_inhibit_rule",
    "rules:write",
    _visible,
    _delete,
)
