"""Sending: claim due notifications per bot within its rate, send, record, retry, dead-letter.

Writes notification states, delivery_attempt, delivery_counter and channel_state
(sending.store alone).
"""
