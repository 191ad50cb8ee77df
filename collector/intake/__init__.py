"""Pull feeds and file imports: one feed poller and one file importer, plugged by kind of item.

`contract` is the parser/store pair a kind gives; `feeds` polls a feed table, `files` imports
CSV/NDJSON files. Cargo events plug in through `cargo_events` (station_feed), declarations through
`collector.risk.intake` (declaration_feed).
"""
