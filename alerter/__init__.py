"""alerter."""
