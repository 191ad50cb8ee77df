"""Suppression: why an alert is not sent: silences, mute intervals, inhibit rules, acks.

Writes inhibit_rule (suppression.inhibit_rules) and, through delivery.config_store, silence
and mute_interval; the stages that apply them are delivery.stages.
"""
