"""The alerter's rules-and-alerts API: one blueprint at /api/v1 nesting the resource modules.

quaywatch.web registers ``alerter.api:bp``; rules_api.py (rules, overrides, proposals,
effective rules, audit) and alerts_api.py (alerts, history, preview, backtest) hold the routes.
"""

from __future__ import annotations

from flask import Blueprint

from alerter import alerts_api, rules_api

bp = Blueprint("alerter_rules", __name__, url_prefix="/api/v1")
bp.register_blueprint(rules_api.bp)
bp.register_blueprint(alerts_api.bp)
