"""Delivery: outbox -> route -> group -> stages (silence, inhibit, mute) -> notifications.

Writes channels, silences and mute intervals (delivery.config_store), groups and notifications
(delivery.store); suppression/ holds why an alert is not sent (silences, inhibit rules, acks);
sending/ sends the notifications and records every attempt (delivery.sending.store).
"""
