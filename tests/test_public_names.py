"""Each public module's ``__all__`` is exactly its public names (the httpx test, for every module).

A module's public names are those it binds at module level without a leading underscore by ``def``,
``class`` or assignment, and, for a package, the names its ``__init__`` imports from its own
submodules (its re-exports): each must be in ``__all__``. Names a module merely imports for its own
use (``Path``, ``Any``, a helper from another stage) are not its API, but a module may re-export an
imported name on purpose by listing it. Every name in ``__all__`` must resolve, lazily exported names
(through the module's ``__getattr__``) included.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import glassline

PUBLIC_MODULES = sorted(
    name
    for _, name, _ in pkgutil.walk_packages(glassline.__path__, "glassline.")
    if not any(part.startswith("_") for part in name.split(".")) and name != "glassline.cli"
)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_names(body: list[ast.stmt]) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.Module(body=body, type_ignores=[])):
        if isinstance(node, ast.ImportFrom | ast.Import):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def _bound_names(body: list[ast.stmt], package: str | None) -> set[str]:
    names: set[str] = set()
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom) and package is not None and node.module:
            source = node.module if node.level == 0 else f"{package}.{node.module}"
            if source.startswith(package + "."):
                names.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.If) and not _is_type_checking(node):
            names |= _bound_names(node.body, package) | _bound_names(node.orelse, package)
        elif isinstance(node, ast.Try):
            names |= _bound_names(node.body, package)
            for handler in node.handlers:
                names |= _bound_names(handler.body, package)
        elif isinstance(node, ast.With):
            names |= _bound_names(node.body, package)
    return {n for n in names if not n.startswith("_")}


@pytest.mark.parametrize("module_name", ["glassline", *PUBLIC_MODULES])
def test_all_equals_the_public_names(module_name: str) -> None:
    module = importlib.import_module(module_name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{module_name} has no __all__"
    assert len(exported) == len(set(exported)), f"{module_name}: __all__ repeats a name"
    for name in exported:
        getattr(module, name)  # resolves, lazily exported names included
    source = Path(inspect.getfile(module))
    package = module_name if source.name == "__init__.py" else None
    body = ast.parse(source.read_text(encoding="utf-8")).body
    public = _bound_names(body, package)
    lazy = {n for n in exported if n not in public} if "__getattr__" in vars(module) else set()
    missing, extra = sorted(public - set(exported)), sorted(set(exported) - public - lazy - _imported_names(body))
    assert not missing, f"{module_name}: public but not in __all__: {missing}"
    assert not extra, f"{module_name}: in __all__ but neither defined nor re-exported there: {extra}"
