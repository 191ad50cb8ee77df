"""The rules-and-alerts API: one /api/v1 blueprint nesting the resource ones; writes nothing.

quaywatch.web registers ``alerter.api:bp`` and, beside it, ``alerter.delivery.api:bp``
(channels, deliveries, silences). Here: rules.api (rules, overrides, proposals, effective
rules, audit) and evaluation.api (alerts, history, preview, backtest). Writes no table itself.
"""

from __future__ import annotations

from flask import Blueprint

from alerter.evaluation import api as alerts_api
from alerter.rules import api as rules_api

bp = Blueprint("alerter_rules", __name__, url_prefix="/api/v1")
bp.register_blueprint(rules_api.bp)
bp.register_blueprint(alerts_api.bp)
