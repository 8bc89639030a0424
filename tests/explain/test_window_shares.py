"""The process window reports both shares (predictions vs whole intervals) and a recommendation with
predicted values, intervals, its criterion and the trade-off."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from glassline import study_from_dict
from glassline.explain import process_window
from glassline.models import Fits, compare, load_fits
from glassline.spec import Study

STUDY = {
    "name": "window",
    "seed": 8,
    "factors": [{"name": "x", "low": -1, "high": 1}, {"name": "z", "low": -1, "high": 1}],
    "responses": [{"name": "y"}, {"name": "w"}],
    "data": {"group": "configuration"},
    "split": {"cv_folds": 3, "cv_repeats": 2},
}


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Fits, Study]:
    rng = np.random.default_rng(21)
    n_config, replicates = 16, 3
    x = np.repeat(rng.uniform(-1, 1, n_config), replicates)
    z = np.repeat(rng.uniform(-1, 1, n_config), replicates)
    frame = pd.DataFrame(
        {
            "x": x,
            "z": z,
            "y": 2.0 * x + z + rng.normal(0, 0.6, len(x)),
            "w": 5.0 - x + rng.normal(0, 0.1, len(x)),
            "configuration": np.repeat(np.arange(n_config), replicates),
        }
    )
    study = study_from_dict(STUDY)
    folder = tmp_path_factory.mktemp("window-results")
    compare(study, frame, families=["mlr"], n_jobs=1).write(folder, plots=False)
    return load_fits(folder), study


def test_both_shares_and_what_they_mean(fitted: tuple[Fits, Study]) -> None:
    fits, study = fitted
    window = process_window(fits, study, ["y >= 0.5"], points=11)
    grid = window.grid
    np.testing.assert_array_equal(grid["predicted_feasible"], grid["y_pred"] >= 0.5)
    np.testing.assert_array_equal(grid["feasible"], grid["y_lower"] >= 0.5)
    assert window.half_widths["y"] > 0
    # sure implies predicted: the interval's lower end is below the prediction
    assert not (grid["feasible"] & ~grid["predicted_feasible"]).any()
    assert 0 < window.feasible_fraction < window.predicted_feasible_fraction < 1
    summary = json.loads(json.dumps(window.summary(), allow_nan=False))
    assert summary["feasible_fraction"] == pytest.approx(grid["feasible"].mean())
    assert summary["predicted_feasible_fraction"] == pytest.approx(grid["predicted_feasible"].mean())
    assert set(summary["fractions"]) == {"feasible_fraction", "predicted_feasible_fraction"}


def test_recommendation_carries_intervals_criterion_and_trade_off(fitted: tuple[Fits, Study]) -> None:
    fits, study = fitted
    window = process_window(fits, study, ["y >= 0.5"], points=11)
    setting, rec = window.recommended, window.recommendation
    assert setting is not None
    assert rec is not None
    at = window.grid[(window.grid["x"] == setting["x"]) & (window.grid["z"] == setting["z"])].iloc[0]
    (check,) = rec["requirements"]
    assert check["requirement"] == "y >= 0.5"
    assert (check["predicted"], check["lower"], check["upper"]) == pytest.approx(
        (at["y_pred"], at["y_lower"], at["y_upper"])
    )
    assert check["lower"] >= 0.5
    assert (setting["y_pred"], setting["y_lower"], setting["y_upper"]) == pytest.approx(
        (check["predicted"], check["lower"], check["upper"])
    )
    assert "largest worst-case margin" in rec["criterion"]
    trade = {t["response"]: t for t in rec["trade_off"]}
    # the required response: what the setting gives against the best in the predicted-feasible region
    assert trade["y"]["best_in_window"] == pytest.approx(
        window.grid.loc[window.grid["predicted_feasible"], "y_pred"].max()
    )
    assert trade["y"]["cost"] >= 0
    # another response with a design-factor model: its value at the setting within its range over the box
    w = trade["w"]
    assert w["box_min"] <= w["at_setting"] <= w["box_max"]
    assert w["cost_vs_max_pct"] == pytest.approx(100 * (w["box_max"] - w["at_setting"]) / abs(w["box_max"]))


def test_no_sure_point_recommends_the_best_predicted_one(fitted: tuple[Fits, Study]) -> None:
    fits, study = fitted
    top = float(process_window(fits, study, ["y >= 0"], points=11).grid["y_pred"].max())
    window = process_window(fits, study, [f"y >= {top - 0.05}"], points=11)
    assert window.feasible_fraction == 0
    assert window.predicted_feasible_fraction > 0
    assert window.recommended is not None
    assert window.recommendation is not None
    assert window.recommendation["region"] == "predicted_feasible"
    assert any("predicted-feasible point" in note for note in window.notes)


def test_written_and_read_back(fitted: tuple[Fits, Study], tmp_path: Path) -> None:
    fits, study = fitted
    window = process_window(fits, study, ["y >= 0.5"], points=11)
    (tmp_path / "window.json").write_text(json.dumps(window.summary()), encoding="utf-8")
    back = json.loads((tmp_path / "window.json").read_text(encoding="utf-8"))
    assert back["recommendation"]["setting"] == pytest.approx({k: window.recommended[k] for k in ("x", "z")})


def test_a_response_without_fits_is_left_out_of_the_trade_off(fitted: tuple[Fits, Study]) -> None:
    fits, study = fitted
    only_y = Fits(fits.results[fits.results["target"] == "y"], {k: fits[k] for k in fits if k[0] == "y"})
    window = process_window(only_y, study, ["y >= 0.5"], points=11, results_dir=fits.folder)
    assert window.recommendation is not None
    assert [t["response"] for t in window.recommendation["trade_off"]] == ["y"]
