"""Delivery: outbox -> route -> group -> stages (silence, inhibit, mute) -> notifications.

Writes channels, silences, mute intervals, groups and notifications (delivery.store); sending/
sends them and records every attempt (delivery.sending.store).
"""
