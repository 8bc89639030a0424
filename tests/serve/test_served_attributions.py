"""End to end: a served model's attributions over HTTP are the explain stage's, and its metadata names the algorithm."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import numpy as np
from serve_helpers import Running

from glassline.explain import shap_values
from glassline.models import load_fits
from glassline.shapley import Algorithm


def test_served_attributions_for_training_rows_equal_shap_values(server: Running, results_dir: Path) -> None:
    bundle = server.model.bundle
    fit = load_fits(results_dir)[("y", "factors", bundle.family)]
    rows = fit.X_train.loc[:, bundle.inputs]
    with server.client() as client:
        answer = client.post("/v1/predict", json={"rows": rows.to_dict(orient="records")})
        metadata = client.get("/v1/model").json()
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    reported = shap_values(fit, rows, bundle.background)
    got = np.array([[r["attributions"][name] for name in bundle.inputs] for r in results])
    np.testing.assert_allclose(got, reported.values, rtol=0, atol=1e-9)
    np.testing.assert_allclose([r["base_value"] for r in results], reported.base_values, rtol=0, atol=1e-9)
    np.testing.assert_allclose([r["prediction"] for r in results], fit.predict(rows), rtol=0, atol=1e-9)
    assert metadata["explainer"]["algorithm"] == reported.settings.algorithm
    assert metadata["explainer"]["algorithm"] in get_args(Algorithm)
    assert metadata["explainer"]["predictor"].startswith("tabulated tree ensemble")
