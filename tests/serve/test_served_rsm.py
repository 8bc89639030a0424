"""The reduced quadratic (``rsm``) is published and served like every family: the service's attributions are
the explain stage's exact closed-form polynomial values."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from serve_helpers import Running, start

from glassline import Study
from glassline.explain import shap_values
from glassline.models import load_fits
from glassline.registry import load_model, publish
from glassline.serve import Fallback


@pytest.fixture(scope="module")
def rsm_server(
    results_dir: Path, study: Study, home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    published = publish(results_dir, "y", "factors", family="rsm", name="y-rsm", study=study, home=home)
    model = load_model(f"y-rsm/{published.version}", home=home)
    yield from start(model, tmp_path_factory.mktemp("rsm"), Fallback.flag)


def test_served_rsm_attributions_equal_the_explain_stage(rsm_server: Running, results_dir: Path) -> None:
    bundle = rsm_server.model.bundle
    assert bundle.family == "rsm"
    fit = load_fits(results_dir)[("y", "factors", "rsm")]
    rows = fit.X_train.loc[:, bundle.inputs]
    with rsm_server.client() as client:
        answer = client.post("/v1/predict", json={"rows": rows.to_dict(orient="records")})
        metadata = client.get("/v1/model").json()
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    reported = shap_values(fit, rows, bundle.background)
    got = np.array([[r["attributions"][name] for name in bundle.inputs] for r in results])
    np.testing.assert_allclose(got, reported.values, rtol=0, atol=1e-9)
    np.testing.assert_allclose([r["prediction"] for r in results], fit.predict(rows), rtol=0, atol=1e-9)
    assert metadata["explainer"]["algorithm"] == reported.settings.algorithm == "closed-form polynomial"
