"""StudyRun: one study, one seed that drives every stage, the stages' outputs as objects that write and load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from glassline import Study, StudyRun, write_study
from glassline.cli import main
from glassline.data import PreparedDataset
from glassline.explain import Explanations
from glassline.models import Comparison, family_names, paper_split

#: two families of the registry: one with a closed-form explanation, one with a random state
FAMILIES = [name for name in family_names() if name in ("mlr", "rf")]


@pytest.fixture(scope="module")
def table_file(synthetic_rows: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("table") / "measurements.csv"
    synthetic_rows.to_csv(path, index=False)
    return path


def _run(study: Study, table: Path, out: Path, seed: int | None) -> StudyRun:
    run = StudyRun(study, seed=seed, out=out)
    run.prepare(table)
    run.fit(families=FAMILIES, n_jobs=1, plots=False)
    run.explain(bootstrap=3, n_jobs=1, plots=False, influence=False, include_unexplainable=True)
    return run


@pytest.fixture(scope="module")
def runs(study: Study, table_file: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, StudyRun]:
    root = tmp_path_factory.mktemp("runs")
    return {
        "a": _run(study, table_file, root / "a", 11),
        "b": _run(study, table_file, root / "b", 11),
        "other": _run(study, table_file, root / "other", 12),
        "default": _run(study, table_file, root / "default", None),
    }


def test_same_seed_gives_identical_files(runs: dict[str, StudyRun]) -> None:
    a, b = runs["a"].out, runs["b"].out
    for name in ("results/results.csv", "results/predictions.parquet", "explanations/importance.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_a_different_seed_changes_the_splits(runs: dict[str, StudyRun], study: Study) -> None:
    key = ("y", "factors", FAMILIES[0])
    test_rows = {name: sorted(run.fits[key].X_test.index) for name, run in runs.items()}
    assert test_rows["a"] == test_rows["b"]
    assert test_rows["a"] != test_rows["other"]
    n = len(runs["a"].fits[key].X_train) + len(runs["a"].fits[key].X_test)
    for name, seed in (("a", 11), ("other", 12), ("default", study.seed)):
        assert test_rows[name] == list(paper_split(n, 0.2, seed)[1]), name


def test_one_seed_reaches_every_stage(runs: dict[str, StudyRun], study: Study) -> None:
    run = runs["other"]
    assert run.seed == run.study.seed == 12
    assert study.seed == 7  # the study's seed is replaced in the run, not changed
    assert runs["default"].seed == 7
    assert run.comparison is not None
    assert run.comparison.settings["seed"] == 12
    assert json.loads((run.out / "results" / "run.json").read_text(encoding="utf-8"))["seed"] == 12
    assert run.explanations is not None
    assert run.explanations.seed == 12
    assert json.loads((run.out / "explanations" / "run.json").read_text(encoding="utf-8"))["seed"] == 12
    # the folders keep the study the results were fitted with, so a stage run alone uses the same seed
    for copy in (run.out / "study.toml", run.out / "results" / "study.toml"):
        assert "seed = 12" in copy.read_text(encoding="utf-8")
    # the random forest got the run's seed too
    forest = run.fits[("y", "factors", "rf")].pipeline.named_steps["model"]
    assert forest.random_state == 12


def test_stage_outputs_are_typed_and_load_back(runs: dict[str, StudyRun]) -> None:
    run = runs["a"]
    assert isinstance(run.dataset, PreparedDataset)
    assert isinstance(run.comparison, Comparison)
    assert isinstance(run.explanations, Explanations)
    loaded = StudyRun.load(run.out)
    assert loaded.seed == 11
    assert loaded.dataset is not None
    assert loaded.comparison is not None
    assert loaded.explanations is not None
    pd.testing.assert_frame_equal(loaded.dataset.tables["data"], run.dataset.tables["data"])
    pd.testing.assert_frame_equal(loaded.comparison.results, run.comparison.results, check_dtype=False)
    assert loaded.comparison.notes == run.comparison.notes
    assert set(loaded.explanations.shap) == set(run.explanations.shap)
    for key, explanation in run.explanations.shap.items():
        np.testing.assert_array_equal(loaded.explanations.shap[key].values, explanation.values)
        np.testing.assert_array_equal(loaded.explanations.shap[key].base_values, explanation.base_values)
    pd.testing.assert_frame_equal(loaded.explanations.importance, run.explanations.importance, check_dtype=False)
    assert loaded.explanations.narratives == run.explanations.narratives
    assert set(loaded.explanations.lead) == set(run.explanations.lead)
    key = ("y", "factors", FAMILIES[0])
    np.testing.assert_allclose(
        loaded.fits[key].predict(run.fits[key].X_test), run.fits[key].predict(run.fits[key].X_test)
    )


def test_written_elsewhere_and_read_again(runs: dict[str, StudyRun], tmp_path: Path) -> None:
    run = runs["a"]
    dataset = PreparedDataset.load(run.out / "dataset")
    dataset.write(tmp_path / "dataset")
    again = PreparedDataset.load(tmp_path / "dataset")
    assert again.metadata == dataset.metadata
    assert len(again.log) == len(dataset.log)
    assert run.explanations is not None
    run.explanations.write(tmp_path / "explanations", plots=False)
    read = Explanations.load(tmp_path / "explanations", fits=run.fits, study=run.study)
    assert read.seed == 11
    # CSV keeps no difference between an empty text cell and a missing one
    pd.testing.assert_frame_equal(read.agreement.fillna(""), run.explanations.agreement.fillna(""), check_dtype=False)


def test_a_run_written_to_another_folder(study: Study, table_file: Path, tmp_path: Path) -> None:
    run = _run(study, table_file, tmp_path / "first", 5)
    run.write(tmp_path / "second", plots=False)
    assert run.out == tmp_path / "second"
    loaded = StudyRun.load(tmp_path / "second")
    assert loaded.seed == 5
    assert loaded.explanations is not None
    assert loaded.explanations.fits.folder == tmp_path / "second" / "results"
    assert (tmp_path / "second" / "dataset" / "metadata.json").is_file()


def test_stages_in_order(study: Study, tmp_path: Path) -> None:
    run = StudyRun(study, out=tmp_path)
    with pytest.raises(ValueError, match=r"run StudyRun.prepare"):
        run.fit()
    with pytest.raises(ValueError, match=r"run StudyRun.fit"):
        run.explain()
    with pytest.raises(ValueError, match="seed: expected an integer"):
        StudyRun(study, seed=-1)
    assert "seed=7" in repr(run)


# ----------------------------------------------------------------- the command line's --seed
def _cli(args: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(args)
    return int(info.value.code or 0)


def _test_rows(results: Path) -> list[int]:
    predictions = pd.read_parquet(results / "predictions.parquet")
    rows = predictions[(predictions["split"] == "test") & (predictions["family"] == "mlr")]["row_id"]
    return sorted(int(r) for r in rows.unique())


def test_cli_seed_reaches_the_splits_and_the_explanations(
    study: Study, synthetic_rows: pd.DataFrame, table_file: Path, tmp_path: Path
) -> None:
    spec = write_study(study, tmp_path / "study.toml")
    common = ["--data", str(table_file), "-f", "mlr", "-j", "1", "--no-plots", "-q"]
    assert _cli(["fit", str(spec), "--out", str(tmp_path / "default"), *common]) == 0
    assert _cli(["fit", str(spec), "--out", str(tmp_path / "seeded"), "--seed", "12", *common]) == 0
    n = len(synthetic_rows)
    assert _test_rows(tmp_path / "default") == list(paper_split(n, 0.2, 7)[1])
    assert _test_rows(tmp_path / "seeded") == list(paper_split(n, 0.2, 12)[1])
    assert _test_rows(tmp_path / "seeded") != _test_rows(tmp_path / "default")
    explain = ["explain", str(tmp_path / "seeded"), "--no-plots", "-q", "--include-unexplainable"]
    assert _cli(explain) == 0  # default: the seed the results were fitted with
    assert json.loads((tmp_path / "seeded" / "explanations" / "run.json").read_text(encoding="utf-8"))["seed"] == 12
    assert _cli([*explain, "--seed", "3", "-o", str(tmp_path / "e3")]) == 0
    assert json.loads((tmp_path / "e3" / "run.json").read_text(encoding="utf-8"))["seed"] == 3


@pytest.mark.slow
def test_cli_study_seed_reaches_the_splits(toy_line: tuple[Path, Path], tmp_path: Path) -> None:
    spec, table = toy_line
    args = ["--data", str(table), "-f", "mlr", "-j", "1", "--quiet"]
    assert _cli(["study", str(spec), "--out", str(tmp_path / "s"), "--seed", "12", *args]) == 0
    assert _test_rows(tmp_path / "s" / "results") == list(paper_split(len(pd.read_csv(table)), 0.2, 12)[1])
    assert json.loads((tmp_path / "s" / "explanations" / "run.json").read_text(encoding="utf-8"))["seed"] == 12
    assert "Seed 12" in (tmp_path / "s" / "report.html").read_text(encoding="utf-8")


def test_cli_simulate_seed_defaults_to_the_study(
    study: Study, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_study(study.with_seed(9), tmp_path / "study.toml")
    assert _cli(["simulate", "--out", str(tmp_path / "raw"), "--study", str(spec), "--quiet"]) == 0
    assert "(seed 9)" in capsys.readouterr().out
    assert _cli(["simulate", "--out", str(tmp_path / "raw2"), "--study", str(spec), "--seed", "4", "--quiet"]) == 0
    assert "(seed 4)" in capsys.readouterr().out


@pytest.mark.slow
def test_every_stage_of_a_whole_run_reports_progress(study: Study, table_file: Path, tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    StudyRun(study, out=tmp_path).run(
        table_file, families=["mlr"], bootstrap=2, n_jobs=1, progress=lambda *call: calls.append(call)
    )
    labels = [label for label, _, _ in calls]
    stages = [label.split(":")[0] for label in labels]
    assert stages[0] == "prepare"
    assert {"fit", "explain", "report"} <= set(stages)
    assert "fit: writing results and parity plots" in labels
    assert "explain: writing tables and figures" in labels
    assert ("report", 3, 4) in calls
    assert calls[-1] == ("done", 4, 4)
    done = [d for _, d, _ in calls]
    assert done == sorted(done)  # the bar only moves forward
