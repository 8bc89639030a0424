"""Models published from the synthetic results folder (tests/conftest.py) and served over real HTTP."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "serve"))

from serve_helpers import make_tokens, serving

from glassline import Study
from glassline.registry import LoadedModel, load_model, publish
from glassline.serve import Fallback, ServiceConfig

FAMILIES = ("mlr", "rsm", "xgb", "svr")


@pytest.fixture(scope="session")
def optimize_models(results_dir: Path, study: Study, home: Path) -> dict[str, LoadedModel]:
    """One registered model per family (named cf-FAMILY), loaded."""
    loaded = {}
    for family in FAMILIES:
        p = publish(results_dir, "y", "factors", family=family, name=f"cf-{family}", study=study, home=home)
        loaded[family] = load_model(f"{p.name}/{p.version}", home=home)
    return loaded


@pytest.fixture(scope="module")
def service(
    optimize_models: dict[str, LoadedModel], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, object]]:
    """Every family served by one service on 127.0.0.1 (fallback 'refuse'), with a token per role."""
    db_url = f"sqlite:///{(tmp_path_factory.mktemp('cf') / 'glassline.db').as_posix()}"
    tokens = make_tokens(db_url)
    with serving(list(optimize_models.values()), ServiceConfig(db_url=db_url, fallback=Fallback.refuse)) as url:
        yield {"url": url, "tokens": tokens, "db_url": db_url}
