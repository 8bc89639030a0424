"""DATA in every form (prepared folder, one table, DataFrame) and clear errors for bad inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from glassline import DataError, SpecError, Study
from glassline.models import compare
from glassline.models._dataset import DataSource, load_target


def _prepared_folder(tmp_path: Path, table: pd.DataFrame) -> Path:
    """A folder shaped like the prepare stage's: one table per level, a cleaning log, metadata."""
    folder = tmp_path / "dataset"
    folder.mkdir()
    table.drop(columns="noise").to_parquet(folder / "specimen.parquet", index=False)
    table.drop(columns="noise").to_csv(folder / "specimen.csv", index=False)
    table.drop(columns="y").to_csv(folder / "cell.csv", index=False)
    (folder / "cleaning_log.csv").write_text("level,row,column,rule\n", encoding="utf-8")
    (folder / "metadata.json").write_text("{}", encoding="utf-8")
    return folder


def _levelled(make_study: Any) -> Study:
    return make_study(
        responses=[{"name": "y", "level": "specimen"}, {"name": "noise", "level": "cell"}],
        split={"cv_folds": 3, "cv_repeats": 1},
    )


def test_prepared_folder_finds_each_level(tmp_path: Path, table: pd.DataFrame, make_study: Any) -> None:
    study = _levelled(make_study)
    source = DataSource(_prepared_folder(tmp_path, table))
    y = load_target(study, source, "y", ["factors"])
    assert y.source.endswith("specimen.parquet")  # Parquet preferred over the CSV twin
    noise = load_target(study, source, "noise", ["factors", "collinear"])
    assert noise.source.endswith("cell.csv")
    assert list(noise.frame.columns) == ["x1", "x2", "x3", "m1", "noise"]
    assert noise.n_groups == 17
    assert noise.frame.index.name == "row_id"


def test_folder_without_levels_finds_the_table_holding_the_response(
    tmp_path: Path, table: pd.DataFrame, make_study: Any
) -> None:
    study = make_study(responses=[{"name": "y"}, {"name": "noise"}, {"name": "y2"}])
    folder = _prepared_folder(tmp_path, table)
    source = DataSource(folder)
    assert load_target(study, source, "noise", ["factors"]).source.endswith("cell.csv")
    # specimen.parquet and its CSV twin are one level: no ambiguity
    assert load_target(study, source, "y", ["factors"]).source.endswith("specimen.parquet")
    with pytest.raises(DataError, match=r"no table has a column 'y2'.*Did you mean 'y'"):
        load_target(study, source, "y2", ["factors"])
    table.to_csv(folder / "other.csv", index=False)
    with pytest.raises(DataError, match=r"2 tables have a column 'y'.*set 'level'"):
        load_target(study, DataSource(folder), "y", ["factors"])


def test_missing_level_table(tmp_path: Path, table: pd.DataFrame, make_study: Any) -> None:
    study = make_study(responses=[{"name": "y", "level": "specimens"}, {"name": "noise", "level": "cell"}])
    with pytest.raises(DataError, match=r"no table for level 'specimens'.*Did you mean 'specimen'"):
        compare(study, _prepared_folder(tmp_path, table), n_jobs=1)


def test_one_csv_table(tmp_path: Path, table: pd.DataFrame, make_study: Any) -> None:
    path = tmp_path / "runs.csv"
    table.to_csv(path, index=False)
    study = make_study(split={"cv_folds": 3, "cv_repeats": 1}, models={"families": ["mlr"]})
    result = compare(study, path, n_jobs=1)
    assert len(result.results) == 4
    assert result.settings["data"] == str(path)


def test_missing_scenario_input_names_file_and_column(tmp_path: Path, table: pd.DataFrame, study: Study) -> None:
    path = tmp_path / "runs.csv"
    table.rename(columns={"x2": "x_2"}).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"runs.csv: missing column 'x2'.*Did you mean 'x_2'"):
        compare(study, path, n_jobs=1)


def test_missing_response_column(tmp_path: Path, table: pd.DataFrame, study: Study) -> None:
    path = tmp_path / "runs.parquet"
    table.rename(columns={"noise": "noize"}).to_parquet(path, index=False)
    with pytest.raises(DataError, match=r"runs.parquet: missing column 'noise'.*Did you mean 'noize'"):
        compare(study, path, targets=["noise"], n_jobs=1)


def test_non_numeric_cell_names_row_and_column(tmp_path: Path, table: pd.DataFrame, study: Study) -> None:
    bad = table.astype({"x3": object})
    bad.loc[4, "x3"] = "n/a?"
    path = tmp_path / "runs.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"runs.csv: row 6, column 'x3': expected a number, found 'n/a\?'"):
        compare(study, path, n_jobs=1)


def test_empty_cells_are_left_out_and_noted(table: pd.DataFrame, make_study: Any) -> None:
    holes = table.copy()
    holes.loc[[0, 7], "y"] = float("nan")
    study = make_study(split={"cv_folds": 3, "cv_repeats": 1}, models={"families": ["mlr"]})
    result = compare(study, holes, targets=["y"], scenarios=["factors"], n_jobs=1)
    assert result.results.loc[0, "n_rows"] == len(table) - 2
    assert any("2 rows" in note for note in result.notes)
    assert not {0, 7} & set(result.predictions["row_id"])


def test_missing_group_column(table: pd.DataFrame, study: Study) -> None:
    with pytest.raises(DataError, match=r"missing column 'configuration'"):
        compare(study, table.rename(columns={"configuration": "config"}), n_jobs=1)


def test_too_few_groups_for_cv_folds(table: pd.DataFrame, study: Study) -> None:
    few = table[table["configuration"].isin(["C01", "C02", "C03", "C04"])]
    message = r"target 'y'.*grouped 5-fold cross-validation needs at least 5 groups, found 4"
    with pytest.raises(DataError, match=message):
        compare(study, few, targets=["y"], n_jobs=1)


def test_unknown_family_scenario_or_target(table: pd.DataFrame, study: Study) -> None:
    with pytest.raises(SpecError, match=r"families: unknown name 'svm'.*Did you mean 'svr'"):
        compare(study, table, families=["svm"], n_jobs=1)
    with pytest.raises(SpecError, match=r"scenarios: unknown name 'factor'.*Did you mean 'factors'"):
        compare(study, table, scenarios=["factor"], n_jobs=1)
    with pytest.raises(SpecError, match=r"targets: unknown name 'Y'"):
        compare(study, table, targets=["Y"], n_jobs=1)


def test_categorical_input_is_refused_clearly(table: pd.DataFrame, make_study: Any) -> None:
    study = make_study(
        factors=[
            {"name": "x1", "low": 0, "high": 1},
            {"name": "x2", "low": 0, "high": 1},
            {"name": "x3", "kind": "categorical", "levels": ["a", "b"]},
        ]
    )
    with pytest.raises(DataError, match="'x3' is a categorical factor"):
        compare(study, table, n_jobs=1)


def test_missing_data_path(tmp_path: Path, study: Study) -> None:
    with pytest.raises(DataError, match="no such data file or folder"):
        compare(study, tmp_path / "nothing.csv", n_jobs=1)


@pytest.mark.parametrize("cell", ["", "NA", "n/a"])
def test_a_missing_group_label_is_named_as_written(
    tmp_path: Path, table: pd.DataFrame, study: Study, cell: str
) -> None:
    path = tmp_path / "runs.csv"
    frame = table.astype({"configuration": object})
    frame.loc[3, "configuration"] = cell
    frame.to_csv(path, index=False)
    found = "an empty cell" if not cell else f"'{cell}' \\(a missing-value marker\\)"
    with pytest.raises(
        DataError, match=rf"runs\.csv: row 5, column 'configuration': expected a group label, found {found}"
    ):
        load_target(study, DataSource(path), "y", ["factors"])
