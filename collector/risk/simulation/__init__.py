"""Risk simulation: seeded declarations with injected anomalies, scored against the flags.

Writes nothing itself: the simulated declarations are stored through collector.risk.store, and
evaluation only reads the flags screening stored.
"""
