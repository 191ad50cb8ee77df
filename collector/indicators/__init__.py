"""Declarative indicators: a spec (spec.py) names a source, filters and a measure; compile.py
turns it into one more aggregate expression of the source's statement in collector.metrics."""
