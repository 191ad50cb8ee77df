"""Risk rules: declarative conditions owned by an org node, and their life cycle.

A rule applies to declarations at the sites in its node's subtree and matches when every stated
condition holds (features.RULE_SQL evaluates all rules set-based in the scoring step). "One
discovery, nationwide warning": the owning office proposes it, a national admin publishes it,
which moves it to the root node; every change writes an audit_log row (the alerter's table,
object_type 'risk_rule') in the same transaction.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import text
from sqlalchemy.engine import Connection

from collector.risk.features import FEATURES
from quaywatch import audit

ISO2 = r"^[A-Z]{2}$"


class Conditions(BaseModel):
    """Every stated condition must hold; absent ones do not restrict."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hs_prefixes: list[str] | None = Field(default=None, min_length=1, max_length=100)
    origins: list[str] | None = Field(default=None, min_length=1, max_length=250)
    traders: list[str] | None = Field(default=None, min_length=1, max_length=10_000)
    value_cny_min: float | None = Field(default=None, ge=0)
    value_cny_max: float | None = Field(default=None, ge=0)
    unit_value_min: float | None = Field(default=None, ge=0)
    unit_value_max: float | None = Field(default=None, ge=0)
    min_score: float | None = Field(default=None, ge=0)
    features: list[Literal[FEATURES]] | None = Field(default=None, min_length=1)  # type: ignore[valid-type]

    @field_validator("hs_prefixes")
    @classmethod
    def _digits(cls, value: list[str] | None) -> list[str] | None:
        for prefix in value or []:
            if not (prefix.isdigit() and 2 <= len(prefix) <= 10):
                raise ValueError(f"{prefix!r} is not an HS prefix of 2 to 10 digits")
        return value

    @field_validator("origins")
    @classmethod
    def _iso2(cls, value: list[str] | None) -> list[str] | None:
        for origin in value or []:
            if not (len(origin) == 2 and origin.isalpha() and origin.isupper()):
                raise ValueError(f"{origin!r} is not an ISO 3166 alpha-2 code like VN")
        return value

    @model_validator(mode="after")
    def _sensible(self) -> Conditions:
        if not self.model_dump(exclude_none=True):
            raise ValueError("state at least one condition")
        for low, high in (("value_cny_min", "value_cny_max"), ("unit_value_min", "unit_value_max")):
            lo, hi = getattr(self, low), getattr(self, high)
            if lo is not None and hi is not None and lo > hi:
                raise ValueError(f"{low} is above {high}")
        return self

    def summary(self) -> str:
        """One line for reasons and lists, e.g. "HS 0201*, origin BR, unit value < 20 CNY"."""
        parts = []
        if self.hs_prefixes:
            parts.append("HS " + "|".join(p + "*" for p in self.hs_prefixes))
        if self.origins:
            parts.append("origin " + "|".join(self.origins))
        if self.traders:
            parts.append(f"{len(self.traders)} listed trader(s)")
        parts += _range("value", self.value_cny_min, self.value_cny_max)
        parts += _range("unit value", self.unit_value_min, self.unit_value_max)
        if self.min_score is not None:
            parts.append(f"score >= {self.min_score:g}")
        if self.features:
            parts.append("flagged by " + "|".join(self.features))
        return ", ".join(parts)


def _range(label: str, low: float | None, high: float | None) -> list[str]:
    out = [f"{label} >= {low:g} CNY"] if low is not None else []
    return out + ([f"{label} <= {high:g} CNY"] if high is not None else [])


class RuleDraft(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    node_id: str | None = None
    description: str = Field(default="", max_length=2000)
    conditions: Conditions
    enabled: bool = True


_COLUMNS = (
    "rule_id, name, node_id, description, conditions, summary, enabled, proposal_status,"
    " origin_node_id, proposed_at, proposed_by, proposal_comment, published_at, published_by,"
    " version, created_at, created_by, updated_at"
)


def get_rule(conn: Connection, rule_id: int) -> dict[str, Any] | None:
    row = conn.execute(
        text(f"SELECT {_COLUMNS} FROM risk_rule WHERE rule_id = :id"), {"id": rule_id}
    ).mappings()
    found = row.first()
    return dict(found) if found else None


def create_rule(conn: Connection, draft: RuleDraft, node_id: str, actor: Actor) -> dict[str, Any]:
    c = draft.conditions
    row = conn.execute(
        text(
            "INSERT INTO risk_rule (name, node_id, description, conditions, summary, hs_prefixes,"
            " origins, traders, features, value_cny_min, value_cny_max, unit_value_min,"
            " unit_value_max, min_score, enabled, origin_node_id, created_by) VALUES (:name,"
            " :node, :description, CAST(:conditions AS jsonb), :summary, :hs_prefixes, :origins,"
            " :traders, :features, :value_cny_min, :value_cny_max, :unit_value_min,"
            " :unit_value_max, :min_score, :enabled, :node, :actor) RETURNING rule_id"
        ),
        {
            **c.model_dump(),
            "name": draft.name,
            "node": node_id,
            "description": draft.description,
            "conditions": c.model_dump_json(exclude_none=True),
            "summary": c.summary(),
            "enabled": draft.enabled,
            "actor": actor.name,
        },
    ).one()
    after = get_rule(conn, row[0])
    assert after is not None
    write_audit(conn, actor, "create", row[0], node_id, None, after)
    return after


def propose(conn: Connection, before: dict[str, Any], actor: Actor, comment: str) -> dict[str, Any]:
    return _transition(
        conn,
        before,
        actor,
        "propose",
        "proposal_status = 'proposed', proposed_at = now(), proposed_by = :actor,"
        " proposal_comment = :comment",
        {"comment": comment},
    )


def publish(conn: Connection, before: dict[str, Any], actor: Actor, root: str) -> dict[str, Any]:
    """Move a proposed rule to national scope; logged at the origin node too, so the office
    that proposed it sees in its audit trail that it was published."""
    return _transition(
        conn,
        before,
        actor,
        "publish",
        "proposal_status = 'published', published_at = now(), published_by = :actor,"
        " node_id = :root",
        {"root": root},
    )


def _transition(
    conn: Connection,
    before: dict[str, Any],
    actor: Actor,
    action: str,
    assignments: str,
    params: dict[str, Any],
) -> dict[str, Any]:
    conn.execute(
        text(
            f"UPDATE risk_rule SET {assignments}, version = version + 1, updated_at = now()"
            " WHERE rule_id = :id"
        ),
        {**params, "id": before["rule_id"], "actor": actor.name},
    )
    after = get_rule(conn, before["rule_id"])
    assert after is not None
    write_audit(conn, actor, action, before["rule_id"], before["origin_node_id"], before, after)
    return after


class Actor(BaseModel):
    name: str
    token_id: int | None = None
    node_id: str | None = None


def write_audit(
    conn: Connection,
    actor: Actor,
    action: str,
    object_id: int | str,
    node_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    object_type: str = "risk_rule",
) -> None:
    """One audit_log row (sql/0100's table, shared with the alerter's rules)."""
    audit.write_audit(conn, actor, action, object_type, str(object_id), node_id, before, after)


_AUDIT_TRAIL = text(
    "SELECT at, actor, action, node_id FROM audit_log WHERE object_type = 'risk_rule'"
    " AND object_id = :id ORDER BY audit_id"
)


def audit_trail(conn: Connection, rule_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(_AUDIT_TRAIL, {"id": str(rule_id)}).mappings()
    return [{**row, "at": row["at"].isoformat()} for row in rows]
