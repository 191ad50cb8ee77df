"""Rules: kinds, inheritance down the org tree, defaults, their API and commands.

Writes alert_rule, alert_rule_override and audit_log (rules.store alone).
"""
