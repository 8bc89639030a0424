"""The corpus's served model: the synthetic study's MLR, fitted and published once, served on 127.0.0.1."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "serve"))
from serve_helpers import Running, start

from glassline import Study
from glassline.registry import load_model, publish
from glassline.serve import Fallback


@pytest.fixture(scope="module")
def served(
    study: Study, synthetic_rows: pd.DataFrame, home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    """The synthetic study's MLR model (fitted alone: fast), served with the 'refuse' fallback, at most 5 rows
    and 4 kB a request."""
    from glassline.models import compare

    results = tmp_path_factory.mktemp("corpus-results")
    compare(study, synthetic_rows, families=["mlr"], targets=["y"], n_jobs=1).write(results, plots=False)
    published = publish(results, "y", "factors", family="mlr", name="corpus-y", study=study, home=home)
    model = load_model(f"{published.name}/{published.version}", home=home)
    yield from start(model, tmp_path_factory.mktemp("corpus-serve"), Fallback.refuse, max_batch=5, max_body_bytes=4096)
