"""Evaluation's reads: current observations, lots, stored history and its own alert tables; writes none."""
