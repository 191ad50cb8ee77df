"""alerter: rules -> evaluation -> delivery, one subpackage per step of the data flow.

rules/ (what to watch), evaluation/ (alert states and the outbox), delivery/ (routing, grouping,
silences and sending), channels/ (one module per kind of receiver). Each subpackage's store.py
alone writes its tables.
"""
