"""When held hazardous lots will breach their storage deadlines (empirical dwell, no Prophet)."""
