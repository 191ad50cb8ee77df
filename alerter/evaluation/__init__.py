"""Evaluation: rules against current data -> alert states and the outbox; alerts API, backtest.

Writes alert_instance, alert_history, alert_rule_status and alert_event (evaluation.store alone).
"""
