"""The screening features as SQL: each flag says which feature, how far from normal (score), the
observed and expected values, what it was compared with, and why, in a sentence.

Scores share one scale, a robust z equivalent that flags at 3.5 (the customs-domain §5 default
for unit values): |robust z| for the value features, 10 for the hard weight failure, and for
the novelty features 3.5 plus one per doubling of the history they break (a pattern of 160
declarations broken scores higher than one of 20). See docs/risk-screening.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

FEATURES = (
    "unit_value",
    "value_per_kg",
    "net_over_gross",
    "new_trader",
    "pattern_change",
    "amendments",
    "new_origin",
)


@dataclass(frozen=True)
class Thresholds:
    """When each feature flags (defaults from reference/customs-domain.md §5, tuned on the
    simulator; see the precision and recall table in docs/risk-screening.md)."""

    z_flag: float = 3.5  # |robust z| of ln(value) against the reference
    min_reference_n: int = 30  # a reference needs this many declarations to be used
    mad_floor: float = 0.0488  # ln(1.05): one histogram bucket, the finest spread knowable
    fallback_check_n: int = 5  # an HS-8 line with this many declarations vets its HS-6 fallback
    fallback_max_ratio: float = 2.0  # ...which must have a median within this factor of its own
    hard_fail_score: float = 10.0  # net weight above gross weight
    novelty_score: float = 3.5  # first declaration; base of the pattern and origin scores
    pattern_min_prior: int = 20  # a trader pattern needs this many earlier declarations
    pattern_max_share: float = 0.02  # chapter or origin in under 2% of them is a change
    origin_min_prior: int = 30  # a site x HS-6 origin set needs this many declarations
    amend_min_amended: int = 3  # a trader needs this many amended declarations
    amend_min_declarations: int = 5
    amend_rate_factor: float = 3.0  # amendment rate over 3x the national rate

    def params(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT_THRESHOLDS = Thresholds()


# Value features against the HS-8 x origin reference, or the HS-6 one when the 8-digit line is
# thin. `{src}` is the table of declarations being scored (the ingest stage or a re-screen
# slice); {name} fields are Thresholds values, rendered as literals (they are typed numbers, and
# SQL's own format() needs its %s placeholders left alone).
_VALUE = """
SELECT s.declaration_id, s.declared_at, s.site_id, f.feature, 0 AS rule_id,
       abs(z.z) AS score, f.x AS observed, r.median AS expected,
       format('HS %s from %s, per %s: median %s CNY, spread x%s, n=%s', r.hs, s.origin, f.unit,
              risk_fmt(r.median), risk_fmt(exp(r.mad)), r.n) AS reference,
       format('%s %s CNY/%s is %s times the median %s CNY/%s (robust z %s)', f.label,
              risk_fmt(f.x), f.unit, risk_fmt(f.x / r.median), risk_fmt(r.median), f.unit,
              to_char(z.z, 'FM9990.0')) AS reason
FROM {src} s
CROSS JOIN LATERAL (VALUES
    ('unit_value', 'unit value', s.unit, s.value_cny / s.quantity),
    ('value_per_kg', 'value per kg', 'KG', s.value_cny / coalesce(s.net_kg, s.gross_kg))
) AS f(feature, label, unit, x)
LEFT JOIN risk_reference r8 ON r8.feature = f.feature AND r8.hs = left(s.hs_code, 8)
    AND r8.origin = s.origin AND r8.unit = f.unit
LEFT JOIN risk_reference r6 ON r6.feature = f.feature AND r6.hs = left(s.hs_code, 6)
    AND r6.origin = s.origin AND r6.unit = f.unit AND r6.n >= {min_reference_n}
CROSS JOIN LATERAL (SELECT
    r8.n >= {min_reference_n} AS own,
    -- The HS-6 fallback mixes sibling tariff lines: use it only when the 8-digit line is too
    -- new to say, or its own median agrees with the HS-6 one within the factor.
    r6.n IS NOT NULL AND (r8.n IS NULL OR r8.n < {fallback_check_n}
        OR abs(ln(r8.median / r6.median)) <= ln({fallback_max_ratio})) AS fallback
) AS use
CROSS JOIN LATERAL (SELECT
    CASE WHEN use.own THEN r8.hs WHEN use.fallback THEN r6.hs END AS hs,
    CASE WHEN use.own THEN r8.n WHEN use.fallback THEN r6.n END AS n,
    CASE WHEN use.own THEN r8.median WHEN use.fallback THEN r6.median END AS median,
    greatest(CASE WHEN use.own THEN r8.mad_log ELSE r6.mad_log END, {mad_floor}) AS mad
) AS r
CROSS JOIN LATERAL (SELECT (ln(f.x) - ln(r.median)) / (1.4826 * r.mad) AS z) AS z
WHERE r.n IS NOT NULL AND f.x > 0 AND abs(z.z) >= {z_flag}
"""

_WEIGHT = """
SELECT declaration_id, declared_at, site_id, 'net_over_gross', 0, {hard_fail_score}::float8,
       net_kg, gross_kg, 'the declared gross weight',
       format('net weight %s kg exceeds the gross weight %s kg', risk_fmt(net_kg),
              risk_fmt(gross_kg))
FROM {src} WHERE net_kg > gross_kg * 1.001
"""

_NEW_TRADER = """
SELECT declaration_id, declared_at, site_id, 'new_trader', 0, {novelty_score}::float8,
       0::float8, NULL::float8, 'trader profiles: no earlier declaration',
       format('first declaration of trader %s', trader_id)
FROM {src} WHERE trader_prior = 0
"""

_PATTERN = """
SELECT declaration_id, declared_at, site_id, 'pattern_change', 0,
       {novelty_score} + ln(trader_prior::float8 / {pattern_min_prior}) / ln(2.0),
       least(trader_chapter_prior, trader_origin_prior)::float8, trader_prior::float8,
       format('trader %s: its %s earlier declarations by HS chapter and origin', trader_id,
              trader_prior),
       concat_ws('; ',
           CASE WHEN trader_chapter_prior < {pattern_max_share} * trader_prior THEN
               format('HS chapter %s in %s of trader %s''s %s earlier declarations',
                      left(hs_code, 2), trader_chapter_prior, trader_id, trader_prior) END,
           CASE WHEN trader_origin_prior < {pattern_max_share} * trader_prior THEN
               format('origin %s in %s of trader %s''s %s earlier declarations',
                      origin, trader_origin_prior, trader_id, trader_prior) END)
FROM {src}
WHERE trader_prior >= {pattern_min_prior}
  AND least(trader_chapter_prior, trader_origin_prior) < {pattern_max_share} * trader_prior
"""

_NEW_ORIGIN = """
SELECT s.declaration_id, s.declared_at, s.site_id, 'new_origin', 0,
       {novelty_score} + ln(s.site_hs_prior::float8 / {origin_min_prior}) / ln(2.0),
       s.site_hs_origin_prior::float8, s.site_hs_prior::float8,
       format('origins of HS %s at %s: %s', left(s.hs_code, 6), s.site_id,
              (SELECT string_agg(o.origin || ' ' || o.n, ', ' ORDER BY o.n DESC)
               FROM (SELECT origin, n FROM site_hs_origin x
                     WHERE x.site_id = s.site_id AND x.hs6 = left(s.hs_code, 6)
                       AND x.origin <> s.origin ORDER BY n DESC LIMIT 5) o)),
       format('origin %s is new for HS %s at %s (0 of %s earlier declarations)', s.origin,
              left(s.hs_code, 6), s.site_id, s.site_hs_prior)
FROM {src} s
WHERE s.site_hs_prior >= {origin_min_prior} AND s.site_hs_origin_prior = 0
"""

# The national rate is a scalar subquery, so it is computed only when some amended declaration
# of a trader with enough amendments reaches it.
_AMENDMENTS = """
SELECT s.declaration_id, s.declared_at, s.site_id, 'amendments', 0,
       {novelty_score} * (p.amended::float8 / p.n) / ({amend_rate_factor} * nat.rate),
       p.amended::float8 / p.n, nat.rate,
       format('national amendment rate %s%%', risk_fmt(100 * nat.rate)),
       format('trader %s amended %s of its %s declarations (%s%%), %s times the national rate;'
              ' this one %s times', s.trader_id, p.amended, p.n,
              risk_fmt(100.0 * p.amended / p.n), risk_fmt(p.amended::float8 / p.n / nat.rate),
              s.amendment_no)
FROM {src} s
JOIN trader_profile p ON p.trader_id = s.trader_id
CROSS JOIN LATERAL (SELECT (SELECT sum(amended)::float8 / nullif(sum(n), 0)
                            FROM trader_profile) AS rate) AS nat
WHERE s.amendment_no >= 1 AND p.amended >= {amend_min_amended}
  AND p.n >= {amend_min_declarations}
  AND p.amended::float8 / p.n >= {amend_rate_factor} * nat.rate
"""

FEATURE_SQL = "\nUNION ALL\n".join(
    (_VALUE, _WEIGHT, _NEW_TRADER, _PATTERN, _NEW_ORIGIN, _AMENDMENTS)
)

# Rules owned by any ancestor of the declaration's site, matched set-based; min_score and
# features compare with the feature flags just computed for the same declarations.
RULE_SQL = """
WITH m AS (
    SELECT declaration_id, declared_at, max(score) AS score, array_agg(feature) AS features
    FROM risk_new_flag GROUP BY declaration_id, declared_at
), applicable AS (
    SELECT n.node_id AS site_id, r.*
    FROM risk_rule r JOIN org_node n ON n.level = 'site' AND r.node_id = ANY (n.path)
    WHERE r.enabled
)
SELECT s.declaration_id, s.declared_at, s.site_id, 'rule', r.rule_id, coalesce(m.score, 0),
       NULL::float8, NULL::float8,
       format('risk rule #%s "%s" at %s', r.rule_id, r.name, r.node_id),
       format('matches risk rule #%s "%s": %s', r.rule_id, r.name, r.summary)
FROM {src} s
JOIN applicable r ON r.site_id = s.site_id
LEFT JOIN m ON m.declaration_id = s.declaration_id AND m.declared_at = s.declared_at
WHERE (r.hs_prefixes IS NULL
       OR EXISTS (SELECT 1 FROM unnest(r.hs_prefixes) p WHERE starts_with(s.hs_code, p)))
  AND (r.origins IS NULL OR s.origin = ANY (r.origins))
  AND (r.traders IS NULL OR s.trader_id = ANY (r.traders))
  AND (r.value_cny_min IS NULL OR s.value_cny >= r.value_cny_min)
  AND (r.value_cny_max IS NULL OR s.value_cny <= r.value_cny_max)
  AND (r.unit_value_min IS NULL OR s.value_cny / s.quantity >= r.unit_value_min)
  AND (r.unit_value_max IS NULL OR s.value_cny / s.quantity <= r.unit_value_max)
  AND (r.min_score IS NULL OR coalesce(m.score, 0) >= r.min_score)
  AND (r.features IS NULL OR m.features && r.features)
"""
