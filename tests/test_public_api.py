"""The curated public API: every name in ``__all__`` exists, and no private module leaks."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import glassline

PUBLIC_PACKAGES = sorted(
    name
    for _, name, is_pkg in pkgutil.walk_packages(glassline.__path__, "glassline.")
    if not any(part.startswith("_") for part in name.split("."))
    and name != "glassline.cli"  # the CLI's public surface is the command line
)


def test_top_level_all() -> None:
    for name in glassline.__all__:
        assert hasattr(glassline, name), name
    assert "load_study" in glassline.__all__


def test_top_level_all_is_the_curated_list() -> None:
    assert sorted(glassline.__all__) == sorted(
        [
            "DataError",
            "DesignError",
            "GlasslineError",
            "SpecError",
            "Study",
            "StudyRun",
            "__version__",
            "build_report",
            "cluster",
            "compare",
            "diagnose",
            "explain",
            "load_fits",
            "load_study",
            "optimal_design",
            "prepare",
            "run_demo",
            "run_study",
            "shap_values",
            "study_from_dict",
            "write_study",
        ]
    )
    from glassline.run import StudyRun

    assert glassline.StudyRun is StudyRun


@pytest.mark.parametrize("module_name", PUBLIC_PACKAGES)
def test_every_public_module_declares_all(module_name: str) -> None:
    module = importlib.import_module(module_name)
    exported = getattr(module, "__all__", None)
    if module.__name__.endswith("__main__"):
        return
    if module_name.startswith("glassline.domains") and exported is None and not hasattr(module, "__path__"):
        pytest.fail(f"{module_name} has no __all__")
    for name in exported or []:
        assert hasattr(module, name), f"{module_name}.{name} is in __all__ but missing"
        assert not name.startswith("_") or name == "__version__"
