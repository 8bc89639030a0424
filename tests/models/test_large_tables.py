"""Large tables: explanations run on stated samples of the training and test rows, and say so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from glassline import study_from_dict
from glassline.explain import explain
from glassline.explain._stage import EXPLAIN_ROWS, explanation_sample
from glassline.models import compare


def test_a_fit_on_many_rows_is_explained_on_a_stated_sample(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    n = 600
    frame = pd.DataFrame({"a": rng.uniform(size=n), "b": rng.uniform(size=n)})
    frame["y"] = 2 * frame["a"] - frame["b"] + rng.normal(0, 0.1, n)
    study = study_from_dict(
        {
            "name": "wide",
            "factors": [{"name": "a", "low": 0, "high": 1}, {"name": "b", "low": 0, "high": 1}],
            "responses": [{"name": "y"}],
            "split": {"cv_folds": 2, "cv_repeats": 1},
            "models": {"families": ["mlr"], "bootstrap": 0},
        }
    )
    comparison = compare(study, frame, n_jobs=1)
    fit = comparison.fits.best("y", "factors")
    assert len(fit.X_train) == 480
    sample = explanation_sample(fit, seed=0)
    assert len(sample.X_train) == EXPLAIN_ROWS
    assert set(sample.X_train.index) <= set(fit.X_train.index)
    assert explanation_sample(sample, seed=0) is sample  # small enough: unchanged
    outcome = explain(comparison, tmp_path / "explanations", study=study, plots=False)
    sizes = outcome.settings["explanation_rows"]["y · factors · mlr"]
    assert sizes == {"training_rows": 480, "explained_rows": EXPLAIN_ROWS, "test_rows": 120, "permutation_rows": 120}
    assert any(f"seeded sample of {EXPLAIN_ROWS}" in note for note in outcome.notes)
    # influential points are skipped for such a fit, and the file still has its header (the report reads it)
    header = (tmp_path / "explanations" / "influential.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",")[:2] == ["target", "scenario"]
    shap_rows = np.asarray(outcome.shap[("y", "factors", "mlr")].values)
    assert shap_rows.shape == (EXPLAIN_ROWS, 2)
    # the signal is recovered from the sample: a ranks above b
    importance = outcome.importance[outcome.importance["method"] == "shap"].set_index("feature")["importance"]
    assert importance["a"] > importance["b"]


def test_parity_panels_draw_a_seeded_sample_of_a_large_split_and_say_so() -> None:
    from glassline.models._parity import PARITY_POINTS, parity_figure, plotted_rows

    part = pd.DataFrame({"y_true": np.arange(3 * PARITY_POINTS, dtype=float)})
    shown = plotted_rows(part)
    assert len(shown) == PARITY_POINTS
    assert shown.index.is_monotonic_increasing
    assert shown.index.is_unique
    assert shown.equals(plotted_rows(part))  # seeded: the same points every time
    small = part.iloc[:PARITY_POINTS]
    assert plotted_rows(small) is small

    rng = np.random.default_rng(1)
    n = 3000
    frame = pd.DataFrame({"a": rng.uniform(size=n)})
    frame["y"] = frame["a"] + rng.normal(0, 0.1, n)
    study = study_from_dict(
        {
            "name": "many",
            "factors": [{"name": "a", "low": 0, "high": 1}],
            "responses": [{"name": "y"}],
            "split": {"cv_folds": 2, "cv_repeats": 1},
            "models": {"families": ["mlr"], "bootstrap": 0},
        }
    )
    figure = parity_figure(compare(study, frame, n_jobs=1), "y")
    ax = figure.axes[0]
    drawn = sorted(len(c.get_offsets()) for c in ax.collections)
    assert drawn == [600, PARITY_POINTS]  # 600 test rows all drawn, 2,400 training rows sampled
    assert f"seeded sample of {PARITY_POINTS:,}" in figure.get_suptitle()


def test_rows_by_group_equals_the_row_by_name_scan() -> None:
    """The one-sort grouping of the bootstrap gives what comparing every row with every name gives."""
    from glassline.explain._uncertainty import rows_by_group

    rng = np.random.default_rng(2)
    for names in (
        rng.choice(["C01", "C10", "C2", "b"], size=57).astype(str),
        np.array([str(i) for i in rng.permutation(300)]),  # every row its own group
        np.array(["only"] * 5),
    ):
        unique, groups = rows_by_group(names)
        np.testing.assert_array_equal(unique, np.unique(names))
        assert list(groups) == list(unique)
        for g in unique:
            np.testing.assert_array_equal(groups[g], np.flatnonzero(names == g))
