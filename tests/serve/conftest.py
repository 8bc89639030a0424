"""Serving fixtures: models published from the synthetic results folder (tests/conftest.py), running servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_helpers import Running, start

from glassline import Study
from glassline.registry import LoadedModel, load_model, publish
from glassline.serve import Fallback


@pytest.fixture(scope="session")
def published(results_dir: Path, study: Study, home: Path) -> dict[str, str]:
    """Registered models by family: xgb (alias prod), svr, mlr."""
    refs = {}
    for family in ("xgb", "svr", "mlr"):
        p = publish(
            results_dir, "y", "factors", family=family, name=f"y-{family}", study=study, home=home, alias="prod"
        )
        refs[family] = f"{p.name}/{p.version}"
    return refs


@pytest.fixture(scope="session")
def xgb_model(published: dict[str, str], home: Path) -> LoadedModel:
    return load_model("y-xgb@prod", home=home)


@pytest.fixture(scope="module")
def server(xgb_model: LoadedModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """The xgb model served with the 'flag' fallback."""
    yield from start(xgb_model, tmp_path_factory.mktemp("flag"), Fallback.flag)


@pytest.fixture(scope="module")
def refusing(xgb_model: LoadedModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """The xgb model served with the 'refuse' fallback."""
    yield from start(xgb_model, tmp_path_factory.mktemp("refuse"), Fallback.refuse, max_batch=5, max_body_bytes=4096)
