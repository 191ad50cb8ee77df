"""Grafana for QuayWatch: provisioning, the generated dashboards and their generator.

``grafana/generator/`` defines each dashboard in Python; ``python -m grafana.build`` (``make
dashboards``) writes them to ``grafana/dashboards/*.json``, which Grafana reads through
``grafana/provisioning/``. Nothing here is imported by the service.
"""
