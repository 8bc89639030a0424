"""Public names of a package that load their module on first use (PEP 562)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from importlib import import_module
from typing import Any

__all__ = ["load_lazily"]


def load_lazily(package: str, names: Mapping[str, str], name: str) -> Any:
    """The attribute *name* of *package*: imported from its module in *names*, then kept on the package."""
    if name not in names:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    value = getattr(import_module(names[name]), name)
    setattr(sys.modules[package], name, value)
    return value
