"""forecaster."""
