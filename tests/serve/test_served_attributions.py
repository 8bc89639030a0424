"""End to end: a served model's attributions over HTTP are the explain stage's, and its metadata names the algorithm."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import numpy as np
import pandas as pd
from serve_helpers import Running, make_tokens, serving

from glassline import study_from_dict
from glassline.explain import shap_values
from glassline.models import compare, load_fits
from glassline.registry import Bundle, LoadedModel
from glassline.serve import Fallback, ServiceConfig
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


def test_an_eleven_input_model_is_served_with_the_reports_attributions(tmp_path: Path) -> None:
    """The service refused more than 10 inputs while the report explained up to 12; one engine, one limit."""
    names = [f"x{j}" for j in range(1, 12)]
    study = study_from_dict(
        {
            "name": "eleven inputs",
            "seed": 7,
            "factors": [{"name": name, "low": 0.0, "high": 1.0} for name in names],
            "responses": [{"name": "y", "unit": "kPa"}],
            "scenarios": {"factors": names},
            "data": {"group": "configuration"},
            "split": {"test_fraction": 0.2, "cv_folds": 4, "cv_repeats": 1},
        }
    )
    rng = np.random.default_rng(5)
    settings = np.repeat(rng.uniform(0.0, 1.0, size=(17, 11)), 3, axis=0)
    table = pd.DataFrame(settings, columns=names)
    table.insert(0, "configuration", [f"C{i // 3:02d}" for i in range(len(table))])
    table["y"] = (
        3 * settings[:, 0] - 2 * settings[:, 1] ** 2 + settings[:, 0] * settings[:, 10] + rng.normal(0, 0.05, 51)
    )
    results = tmp_path / "results"
    compare(study, table, families=["svr"], targets=["y"], n_jobs=1).write(results, plots=False)
    fit = load_fits(results)[("y", "factors", "svr")]
    bundle = Bundle.from_fit(fit, study, results_dir=results, metrics={})
    model = LoadedModel("y-svr-eleven", "1", fit.pipeline, bundle, "local")
    db_url = f"sqlite:///{(tmp_path / 'glassline.db').as_posix()}"
    tokens = make_tokens(db_url)
    rows = fit.X_train.loc[:, names].iloc[:3]
    with serving(model, ServiceConfig(db_url=db_url, fallback=Fallback.flag)) as url:
        running = Running(url, db_url, tokens, model)
        with running.client() as client:
            metadata = client.get("/v1/model").json()
            answer = client.post("/v1/predict", json={"rows": rows.to_dict(orient="records")})
    assert answer.status_code == 200, answer.text
    reported = shap_values(fit, rows, bundle.background)
    assert reported.settings.algorithm == metadata["explainer"]["algorithm"] == "RBF product"
    got = np.array([[r["attributions"][name] for name in names] for r in answer.json()["results"]])
    np.testing.assert_allclose(got, reported.values, rtol=0, atol=1e-9)
