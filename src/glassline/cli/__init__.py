"""The ``glassline`` command line: one module per command group, all registered on one typer app."""

from glassline.cli import (  # noqa: F401  (registers commands)
    _demo,
    _design,
    _eis,
    _explain,
    _fit,
    _init,
    _monitor,
    _predict,
    _prepare,
    _report,
    _serve,
    _simulate,
    _study,
    _whatif,
    _workflow,
)
from glassline.cli._app import app, main

__all__ = ["app", "main"]
