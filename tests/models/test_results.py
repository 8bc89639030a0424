"""RESULTS_DIR: every file the issue lists, and the fitted pipelines back in one call."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from glassline import DataError
from glassline.models import Comparison, family_names, load_fits, parity_figure


@pytest.fixture(scope="module")
def written(comparison: Comparison, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("results")
    comparison.write(out)
    return out


def test_every_output_is_written(written: Path, comparison: Comparison) -> None:
    for name in ("results.csv", "results.md", "predictions.parquet", "tuning.csv", "collinearity.csv", "run.json"):
        assert (written / name).is_file(), name
    for target in ("y", "noise"):
        png = written / "parity" / f"{target}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(list((written / "models").rglob("*.joblib"))) == len(comparison.results)
    run = json.loads((written / "run.json").read_text(encoding="utf-8"))
    assert run["seed"] == 7
    assert run["cv_folds"] == 5
    assert run["notes"] == comparison.notes


def test_results_csv_and_predictions_parquet(written: Path, comparison: Comparison) -> None:
    results = pd.read_csv(written / "results.csv")
    for column in [
        "target",
        "scenario",
        "family",
        "n_train",
        "n_test",
        "r2_train",
        "r2_test",
        "rmse_train",
        "rmse_test",
        "mse_ratio",
        "cv_r2_mean",
        "cv_r2_std",
        "cv_r2_pooled",
        "cv_rmse_mean",
        "cv_rmse_std",
        "explainable",
        "best",
        "params",
    ]:
        assert column in results.columns, column
    pd.testing.assert_frame_equal(results, comparison.results, check_dtype=False)
    preds = pd.read_parquet(written / "predictions.parquet")
    assert {"row_id", "target", "scenario", "family", "split", "fold", "y_true", "y_pred"} <= set(preds.columns)
    assert set(preds["split"]) == {"train", "test", "cv"}


def test_results_md_is_a_table_5(written: Path) -> None:
    text = (written / "results.md").read_text(encoding="utf-8")
    assert "| Target variable | Input variables | Model | R²_training | R²_test | RMSE_training | RMSE_test" in text
    assert "MSE_training/MSE_test" in text
    assert "CV R² (pooled)" in text
    assert text.count("★") == 4 + 1  # one per target × scenario, plus the legend
    assert "Signal [kPa]" in text  # the study's label and unit
    assert "C=" in text  # tuned hyperparameters
    assert "## Notes" in text


def test_load_fits_in_one_call(written: Path, comparison: Comparison) -> None:
    fits = load_fits(written)
    assert len(fits) == len(comparison.results)
    key = ("y", "factors", "svr")
    fit = fits[key]
    assert isinstance(fit.pipeline, Pipeline)
    assert fit.inputs == ("x1", "x2", "x3")
    assert fit.explainer == "exact"
    np.testing.assert_allclose(fit.predict(fit.X_test), comparison.fits[key].predict(fit.X_test))
    test_rows = comparison.predictions.query("target == 'y' and split == 'test' and family == 'svr'")["row_id"]
    assert sorted(fit.X_test.index) == sorted(test_rows.unique())
    assert len(fit.X_train) + len(fit.X_test) == 51
    best = fits.best("y", "factors")
    assert best.family == comparison.best().query("target == 'y' and scenario == 'factors'")["family"].item()
    assert {f.family for f in fits.select(target="noise", scenario="collinear")} == set(family_names())
    assert all(not f.explainable for f in fits.select(scenario="collinear"))
    with pytest.raises(KeyError, match="no fit"):
        fits[("y", "factors", "lasso")]


def test_load_fits_errors(tmp_path: Path, written: Path) -> None:
    with pytest.raises(DataError, match=r"no results\.csv"):
        load_fits(tmp_path)
    (tmp_path / "results.csv").write_text((written / "results.csv").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(DataError, match="saved pipeline is gone"):
        load_fits(tmp_path)[("y", "factors", "mlr")]


def test_parity_figure_has_a_panel_per_family_and_scenario(comparison: Comparison) -> None:
    figure = parity_figure(comparison, "y")
    assert len(figure.axes) == 2 * len(family_names())  # scenarios × families
    titles = [ax.get_title() for ax in figure.axes]
    assert sum("★" in t for t in titles) == 2
    with pytest.raises(KeyError, match="no results for target"):
        parity_figure(comparison, "nope")
