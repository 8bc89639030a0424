"""The ``glassline`` command line: one module per command group, all registered on one typer app."""

from glassline.cli import _prepare, _study  # noqa: F401  (registers commands)
from glassline.cli._app import app, main

__all__ = ["app", "main"]
