"""Batch prediction (glassline.registry.predict_batch): the service's numbers, chunk by chunk, every row kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from glassline import Study
from glassline.exceptions import DataError
from glassline.models import load_fits
from glassline.registry import PREDICTION_COLUMNS, Bundle, LoadedModel, predict_batch
from glassline.serve import ServedModel


@pytest.fixture(scope="module")
def loaded(results_dir: Path, study: Study) -> LoadedModel:
    fits = load_fits(results_dir)
    fit = fits[("y", "factors", "xgb")]
    bundle = Bundle.from_fit(fit, study, results_dir=results_dir, metrics={})
    return LoadedModel("synthetic_y", "1", fit.pipeline, bundle, "run")


def _rows(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.uniform(0.0, 1.0, size=(n, 3)), columns=["x1", "x2", "x3"])
    frame.insert(0, "coil", [f"K{i:05d}" for i in range(n)])
    return frame


def test_batch_equals_the_service_engine_in_chunks(loaded: LoadedModel, tmp_path: Path) -> None:
    rows = _rows(250)
    rows.loc[7, "x2"] = np.nan  # a missing input: kept, not predicted
    rows.loc[11, "x1"] = 5.0  # far outside the training range
    rows.to_parquet(tmp_path / "big.parquet")
    done = predict_batch(loaded, tmp_path / "big.parquet", tmp_path / "preds.parquet", keep=["coil"], chunk_rows=64)
    out = pd.read_parquet(tmp_path / "preds.parquet")
    assert done.rows == 250
    assert done.chunks == 4
    assert list(out.columns) == ["coil", *PREDICTION_COLUMNS, "shap_x1", "shap_x2", "shap_x3"]
    assert out["row"].tolist() == list(range(250))
    assert out["coil"].tolist() == rows["coil"].tolist()
    assert out.loc[7, "status"] == "missing_input"
    assert np.isnan(out.loc[7, "prediction"])
    assert out.loc[11, "status"] == "outside_domain"
    assert not out.loc[11, "inside_domain"]
    assert done.statuses["missing_input"] == 1
    served = ServedModel(loaded)
    complete = rows.drop(index=7)
    expected = served.explain(complete[["x1", "x2", "x3"]].to_numpy(dtype=float))
    got = out.drop(index=7)
    np.testing.assert_allclose(got["prediction"].to_numpy(), expected.prediction, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got[["shap_x1", "shap_x2", "shap_x3"]].to_numpy(), expected.values, atol=1e-12)
    verdicts = loaded.bundle.domain.check(complete[["x1", "x2", "x3"]].to_numpy(dtype=float))
    assert got["inside_domain"].tolist() == [v.inside for v in verdicts]
    total = got["base_value"] + got[["shap_x1", "shap_x2", "shap_x3"]].sum(axis=1)
    np.testing.assert_allclose(total.to_numpy(), got["prediction"].to_numpy(), atol=1e-9)


def test_a_partitioned_folder_and_a_csv_give_the_same_numbers(loaded: LoadedModel, tmp_path: Path) -> None:
    rows = _rows(90, seed=1)
    rows["day"] = np.repeat(["2026-11-01", "2026-11-02", "2026-11-03"], 30)
    rows.to_parquet(tmp_path / "log", partition_cols=["day"])
    rows.to_csv(tmp_path / "log.csv", index=False)
    predict_batch(loaded, tmp_path / "log", tmp_path / "a.parquet", chunk_rows=1000)
    predict_batch(loaded, tmp_path / "log.csv", tmp_path / "b.parquet", chunk_rows=17)
    a = pd.read_parquet(tmp_path / "a.parquet")
    b = pd.read_parquet(tmp_path / "b.parquet")
    pd.testing.assert_frame_equal(a, b, check_exact=False, atol=1e-12, rtol=0)


@pytest.mark.parametrize(
    ("name", "content", "expect"),
    [
        ("t.csv", "x1,x2\n0.1,0.2\n", "the model needs the columns ['x3']"),
        ("t.csv", "x1,x2,x3\n0.1,0.2,0.3\n0.1,abc,0.3\n", "row 2, column 'x2': expected a number, found 'abc'"),
        ("t.txt", "x1,x2,x3\n", "expected a Parquet file, a folder of Parquet files or a CSV file"),
    ],
)
def test_bad_tables_name_the_file_and_column(
    loaded: LoadedModel, tmp_path: Path, name: str, content: str, expect: str
) -> None:
    (tmp_path / name).write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as info:
        predict_batch(loaded, tmp_path / name, tmp_path / "p.parquet")
    assert expect in str(info.value)
    assert str(tmp_path / name) in str(info.value)
