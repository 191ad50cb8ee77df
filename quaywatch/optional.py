"""Import a package's optional part by name: absent packages add nothing, broken ones still fail."""

from __future__ import annotations

import importlib
from types import ModuleType


def import_optional(module_name: str) -> ModuleType | None:
    """The module, or None when it (or a package above it) is not installed.

    An ImportError raised from inside the module is not swallowed: a broken part must fail loudly.
    """
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            return None
        raise
