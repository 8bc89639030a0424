"""``prepare`` on a plain tables folder: validation against the study, cleaning, outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomli_w

from glassline import study_from_dict
from glassline.cli import main
from glassline.data import load_dataset, prepare
from glassline.exceptions import DataError

STUDY = {
    "name": "toy line",
    "seed": 1,
    "factors": [
        {"name": "speed", "unit": "m/min", "low": 1, "high": 3},
        {"name": "temp", "unit": "°C", "low": 40, "high": 80},
    ],
    "measured": [{"name": "gap", "unit": "µm"}],
    "responses": [
        {"name": "strength", "unit": "kPa", "level": "specimen"},
        {"name": "capacity", "unit": "mAh", "level": "cell"},
        {"name": "resistance", "unit": "Ω", "level": "cell"},
    ],
    "scenarios": {"set": ["speed", "temp"], "process": ["gap", "temp"]},
    "data": {"group": "configuration"},
}


def toy_tables(rng: np.random.Generator, tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    configs = pd.DataFrame(
        {"configuration": [f"C{i}" for i in range(6)], "speed": [1, 3, 1, 3, 2, 2], "temp": [40, 40, 80, 80, 60, 60.0]}
    )
    configs["gap"] = 100 + 20 * configs["speed"]
    specimen = configs.loc[configs.index.repeat(5)].reset_index(drop=True)
    # a fixed spread within each configuration: max |z| = 1.26, so only planted outliers leave
    specimen["strength"] = 300 - 2 * specimen["temp"] + np.tile([0, 1, -1, 0.5, -0.5], 6)
    specimen.loc[7, "strength"] = 900.0  # a gross outlier in C1
    specimen.to_csv(raw / "specimen.csv", index=False)
    # five cells: with n = 4 a single outlier can never exceed 1.5 SD ((n−1)/√n = 1.5)
    cell = configs.loc[configs.index.repeat(5)].reset_index(drop=True)
    cell["capacity"] = 4 + 0.1 * cell["speed"] + np.tile([0, 0.01, -0.01, 0.005, -0.005], 6)
    cell["resistance"] = 100 + cell["temp"] + np.tile([0, 0.5, -0.5, 0.25, -0.25], 6)
    cell.loc[2, "resistance"] = 500.0
    cell.rename(columns={"gap": "gap [µm]"}).to_parquet(raw / "cell.parquet", index=False)
    return raw


def test_prepare_tables_folder(rng: np.random.Generator, tmp_path: Path) -> None:
    study = study_from_dict(STUDY)
    raw = toy_tables(rng, tmp_path)
    dataset = prepare(study, raw, tmp_path / "out")
    assert dataset.summary() == {"specimen": 29, "cell": 30}
    cell = dataset.tables["cell"]
    assert np.isnan(cell["resistance"].iloc[2])  # set missing, the row's capacity is kept
    assert not np.isnan(cell["capacity"].iloc[2])
    log = pd.read_csv(tmp_path / "out" / "cleaning_log.csv")
    assert len(log) == 2
    assert set(log["file"]) == {"specimen.csv", "cell.parquet"}
    assert log.loc[log["file"] == "specimen.csv", "row"].item() == 9  # data row 7 is spreadsheet row 9
    assert log.loc[log["file"] == "specimen.csv", "value"].item() == 900.0
    for level in ("specimen", "cell"):
        assert (tmp_path / "out" / f"{level}.csv").exists()
    metadata = json.loads((tmp_path / "out" / "metadata.json").read_text(encoding="utf-8"))
    assert metadata["levels"]["cell"]["columns"]["gap"] == "µm"
    assert metadata["levels"]["specimen"]["groups"] == 6
    loaded = load_dataset(tmp_path / "out")
    pd.testing.assert_frame_equal(loaded["cell"], cell)


def test_prepare_cli(rng: np.random.Generator, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "study.toml"
    spec.write_text(tomli_w.dumps(STUDY), encoding="utf-8")
    raw = toy_tables(rng, tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["prepare", str(spec), "--raw", str(raw), "--out", str(tmp_path / "ds"), "--quiet"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "specimen.parquet" in out
    assert "cleaning log: 2 rows" in out


def test_duplicates_and_missing_responses_are_logged(rng: np.random.Generator, tmp_path: Path) -> None:
    study = study_from_dict({**STUDY, "cleaning": {"outlier_rule": "sd", "outlier_sd": 0}})
    raw = toy_tables(rng, tmp_path)
    specimen = pd.read_csv(raw / "specimen.csv")
    specimen = pd.concat([specimen, specimen.iloc[[0]]], ignore_index=True)
    specimen.loc[3, "strength"] = np.nan
    specimen.to_csv(raw / "specimen.csv", index=False)
    dataset = prepare(study, raw, tmp_path / "out")
    rules = dataset.log.to_frame()["rule"].tolist()
    assert rules == ["duplicate row", "missing response"]
    assert len(dataset.tables["specimen"]) == 29


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda f: f.drop(columns="temp"), r"specimen\.csv: missing column 'temp'"),
        (
            lambda f: f.assign(temp=f["temp"].astype(object).where(f.index != 4, "hot")),
            r"specimen\.csv: row 6, column 'temp': expected a number \[°C\], found 'hot'",
        ),
        (
            lambda f: f.assign(gap=f["gap"].where(f.index != 0, np.nan)),
            r"row 2, column 'gap': expected a number \[µm\], found an empty cell",
        ),
        (lambda f: f.assign(temp=f["temp"] / 100), r"column 'temp': expected a value near the study range 40 … 80 °C"),
        (lambda f: f.rename(columns={"temp": "temp [K]"}), r"the study gives 'temp' in '°C', the file in 'K'"),
        (
            lambda f: f.assign(configuration=f["configuration"].where(f.index != 1, None)),
            r"row 3, column 'configuration': expected a group id",
        ),
    ],
)
def test_bad_tables(rng: np.random.Generator, tmp_path: Path, mutate, needle: str) -> None:
    raw = toy_tables(rng, tmp_path)
    frame = pd.read_csv(raw / "specimen.csv")
    mutate(frame).to_csv(raw / "specimen.csv", index=False)
    with pytest.raises(DataError, match=needle):
        prepare(study_from_dict(STUDY), raw, tmp_path / "out")


def test_missing_level_table_and_folder(rng: np.random.Generator, tmp_path: Path) -> None:
    raw = toy_tables(rng, tmp_path)
    (raw / "cell.parquet").rename(raw / "cells.parquet")
    with pytest.raises(DataError, match=r"no table for the response level 'cell'.*Did you mean 'cells'"):
        prepare(study_from_dict(STUDY), raw, tmp_path / "out")
    with pytest.raises(DataError, match="no such folder"):
        prepare(study_from_dict(STUDY), tmp_path / "nope", tmp_path / "out")


def test_bad_manifest(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text('{"layout": "glassline.no_such_module"}', encoding="utf-8")
    with pytest.raises(DataError, match="cannot be imported"):
        prepare(study_from_dict(STUDY), tmp_path, tmp_path / "out")
    (tmp_path / "manifest.json").write_text("{nope", encoding="utf-8")
    with pytest.raises(DataError, match="not valid JSON"):
        prepare(study_from_dict(STUDY), tmp_path, tmp_path / "out")
