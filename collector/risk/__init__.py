"""Declaration risk screening: ingest, incremental references, features, rules, review queue."""
