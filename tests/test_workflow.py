"""``glassline study``: one command from data to report, for a plain table (no domain)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomli_w

from glassline.cli import main
from glassline.exceptions import DataError
from glassline.workflow import run_study

pytestmark = pytest.mark.slow

STUDY = {
    "name": "toy coating line",
    "seed": 3,
    "factors": [
        {"name": "speed", "label": "Line speed", "unit": "m/min", "low": 1, "high": 3},
        {"name": "temp", "label": "Dryer temperature", "unit": "°C", "low": 40, "high": 80},
    ],
    "responses": [{"name": "strength", "label": "Peel strength", "unit": "kPa", "expect": {"speed": "decreasing"}}],
    "data": {"group": "configuration"},
    "split": {"cv_folds": 3, "cv_repeats": 2},
    "models": {"families": ["mlr", "poly2"]},
}


def toy(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    configs = pd.DataFrame(
        {
            "configuration": [f"C{i}" for i in range(9)],
            "speed": np.repeat([1.0, 2.0, 3.0], 3),
            "temp": np.tile([40.0, 60.0, 80.0], 3),
        }
    )
    rows = configs.loc[configs.index.repeat(3)].reset_index(drop=True)
    rows["strength"] = 300 - 40 * rows["speed"] + 0.5 * rows["temp"] + rng.normal(0, 2, len(rows))
    table = tmp_path / "measurements.csv"
    rows.to_csv(table, index=False)
    spec = tmp_path / "study.toml"
    spec.write_text(tomli_w.dumps(STUDY), encoding="utf-8")
    return spec, table


def test_study_from_one_table(tmp_path: Path) -> None:
    spec, table = toy(tmp_path)
    run = run_study(spec, table, tmp_path / "out", n_jobs=1)
    for path in (
        run.dataset / "metadata.json",
        run.results / "results.csv",
        run.report,
        tmp_path / "out" / "study.toml",
    ):
        assert path.exists(), path
    assert run.explanations.is_dir()
    assert any(run.explanations.iterdir())
    assert set(run.seconds) == {"prepare", "fit", "explain", "report"}
    text = run.report.read_text(encoding="utf-8")
    assert "Peel strength" in text


def test_study_cli_and_bad_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec, table = toy(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["study", str(spec), "--data", str(table), "--out", str(tmp_path / "cli"), "--quiet", "-j", "1"])
    assert info.value.code == 0
    assert "report" in capsys.readouterr().out
    with pytest.raises(DataError, match="no such file or folder"):
        run_study(spec, tmp_path / "missing.csv", tmp_path / "x")
    (tmp_path / "notes.json").write_text("{}", encoding="utf-8")
    with pytest.raises(DataError, match="expected a table file"):
        run_study(spec, tmp_path / "notes.json", tmp_path / "x")
