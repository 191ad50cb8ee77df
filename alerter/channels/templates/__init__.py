"""Jinja2 templates of the channels (a package only so setuptools ships the .j2 files)."""
