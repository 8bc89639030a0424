"""The electrode layout's raw tables: every row accounted for, categories normalised or refused, located errors."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from glassline import Study, load_study
from glassline.cli import main
from glassline.data import PreparedDataset, prepare
from glassline.domains.electrode.prepare import RAW_TABLES
from glassline.domains.electrode.simulator import PAPER_DESIGN, simulate_line
from glassline.exceptions import DataError

pytestmark = pytest.mark.slow

#: every raw table of the layout, with the reader that counts its data rows
RAW_FILES = [*RAW_TABLES, "inline_log.csv"]


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("raw")
    simulate_line(PAPER_DESIGN, out, seed=2023)
    return out


@pytest.fixture(scope="module")
def electrode_study(electrode_study_path: Path) -> Study:
    return load_study(electrode_study_path)


@pytest.fixture(scope="module")
def dataset(raw: Path, tmp_path_factory: pytest.TempPathFactory, electrode_study: Study) -> PreparedDataset:
    return prepare(electrode_study, raw, tmp_path_factory.mktemp("dataset") / "ds")


def _rows(path: Path) -> int:
    return len(pd.read_csv(path))


def _balanced(entry: dict) -> bool:
    return entry["rows_in"] == sum(entry["used"].values()) + sum(entry["dropped"].values()) + entry["set_aside"]


def test_every_raw_table_is_accounted_for(dataset: PreparedDataset, raw: Path) -> None:
    account = dataset.metadata["rows"]
    assert sorted(account) == sorted(RAW_FILES)
    log = dataset.log.to_frame()
    for file in RAW_FILES:
        entry = account[file]
        assert entry["rows_in"] == _rows(raw / file), file
        assert _balanced(entry), (file, entry)
        dropped = log[(log["file"] == file) & (log["action"] == "dropped") & log["row"].notna()]
        assert sum(entry["dropped"].values()) == len(dropped), file
    # output tables hold exactly the rows the account says
    assert account["adhesion.csv"]["used"] == {
        "specimen": len(dataset.tables["specimen"]),
        "specimen_uncalendered": len(dataset.tables["specimen_uncalendered"]),
    }
    assert account["eis/index.csv"]["used"] == {
        "symmetric_cell": len(dataset.tables["symmetric_cell"]),
        "symmetric_cell_uncalendered": len(dataset.tables["symmetric_cell_uncalendered"]),
    }
    assert account["rate_tests.csv"]["used"] == {"full_cell": len(dataset.tables["full_cell"])}


def test_state_spelling_keeps_every_cell_and_is_logged(
    raw: Path, tmp_path: Path, electrode_study: Study, dataset: PreparedDataset
) -> None:
    broken = tmp_path / "raw"
    shutil.copytree(raw, broken)
    index = pd.read_csv(broken / "eis" / "index.csv", keep_default_na=False)
    calendered = index.index[index["state"] == "calendered"]
    index.loc[calendered[0], "state"] = "Calendered"
    index.loc[calendered[1], "state"] = "calendered "
    index.to_csv(broken / "eis" / "index.csv", index=False)
    # and inject a specimen that the outlier rule must drop (and log): a tenfold pull-off value
    adhesion = pd.read_csv(broken / "adhesion.csv", keep_default_na=False)
    planted = adhesion.iloc[[0]].assign(
        specimen=99, adhesion_strength_kpa=adhesion["adhesion_strength_kpa"].iloc[0] * 10
    )
    pd.concat([adhesion, planted], ignore_index=True).to_csv(broken / "adhesion.csv", index=False)
    again = prepare(electrode_study, broken, tmp_path / "out")
    assert len(again.tables["symmetric_cell"]) == len(dataset.tables["symmetric_cell"])
    log = again.log.to_frame()
    normalised = log[log["action"] == "normalised"]
    assert sorted(normalised["row"].astype(int)) == sorted(int(i) + 2 for i in calendered[:2])
    assert set(normalised["file"]) == {"eis/index.csv"}
    planted_row = len(adhesion) + 2
    assert planted_row in set(log.loc[(log["file"] == "adhesion.csv") & (log["action"] == "dropped"), "row"])
    for entry in again.metadata["rows"].values():
        assert _balanced(entry)


def _edit_csv(name: str, row: int, column: str, value: object) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        frame = pd.read_csv(folder / name, keep_default_na=False, dtype=str)
        frame.loc[row, column] = value
        frame.to_csv(folder / name, index=False)

    return edit


def _uncalendered_row(name: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        frame = pd.read_csv(folder / name, keep_default_na=False, dtype=str)
        first = frame.index[frame["state"] == "uncalendered"][0]
        frame.loc[first, "segment"] = "S99"
        frame.to_csv(folder / name, index=False)

    return edit


def _remove_spectrum(folder: Path) -> None:
    (folder / "eis" / "sym_C01_cal_01.csv").unlink()


def _unlisted_spectrum(folder: Path) -> None:
    shutil.copy(folder / "eis" / "sym_C01_cal_01.csv", folder / "eis" / "sym_C01_cal_99.csv")


def _one_adhesion_row(folder: Path) -> None:
    frame = pd.read_csv(folder / "adhesion.csv", keep_default_na=False, dtype=str)
    frame.iloc[:1].to_csv(folder / "adhesion.csv", index=False)


CASES = [
    (
        _edit_csv("samples.csv", 0, "thickness_calendered_um", "-53.8"),
        r"samples\.csv: row 2, column 'thickness_calendered_um': expected a value in \(0, 2000\] µm, found -53\.8",
    ),
    (
        _edit_csv("samples.csv", 1, "sheet_area_cm2", "0"),
        r"samples\.csv: row 3, column 'sheet_area_cm2': expected a value in \(0, 10000\] cm², found 0",
    ),
    (
        _edit_csv("samples.csv", 2, "sheet_mass_g", "1e308"),
        r"samples\.csv: row 4, column 'sheet_mass_g': expected a value in \(0, 1000\] g, found 1e\+308",
    ),
    (
        _edit_csv("samples.csv", 0, "sheet_mass_g", "NaN"),
        r"samples\.csv: row 2, column 'sheet_mass_g': expected a number, found 'NaN' \(a missing-value marker\)",
    ),
    (
        _edit_csv("samples.csv", 0, "sheet_mass_g", "n/a"),
        r"samples\.csv: row 2, column 'sheet_mass_g': expected a number, found 'n/a' \(a missing-value marker\)",
    ),
    (
        _edit_csv("samples.csv", 0, "sheet_mass_g", "50"),
        r"samples\.csv: row 2, column 'thickness_calendered_um': .*denser than its solids",
    ),
    (
        _edit_csv("adhesion.csv", 0, "state", "calendred"),
        r"adhesion\.csv: row 2, column 'state': expected one of \['calendered', 'uncalendered'\], found 'calendred'\. "
        r"Did you mean 'calendered'",
    ),
    (_uncalendered_row("adhesion.csv"), r"adhesion\.csv: row \d+, column 'segment': expected one of .*found 'S99'"),
    (_uncalendered_row("eis/index.csv"), r"eis/index\.csv: row \d+, column 'segment': expected one of .*found 'S99'"),
    (_remove_spectrum, r"index\.csv: row 2, column 'file': expected an existing file .*'sym_C01_cal_01\.csv'"),
    (_unlisted_spectrum, r"eis/sym_C01_cal_99\.csv: a spectrum file that eis/index\.csv does not list"),
    (_one_adhesion_row, r"adhesion\.csv: the level 'specimen' keeps 1 row in 1 group"),
    (
        _edit_csv("thickness_checks.csv", 0, "step", "7"),
        r"thickness_checks\.csv: row 2, column 'step': expected a step of segment 'S01' in line\.json's recipe",
    ),
    (
        _edit_csv("thickness_checks.csv", 0, "segment", "S1"),
        r"thickness_checks\.csv: row 2, column 'segment': expected one of .*found 'S1'",
    ),
]


@pytest.mark.parametrize(("edit", "needle"), CASES)
def test_bad_raw_tables_are_located(
    raw: Path, tmp_path: Path, electrode_study: Study, edit: Callable[[Path], None], needle: str
) -> None:
    broken = tmp_path / "raw"
    shutil.copytree(raw, broken)
    edit(broken)
    with pytest.raises(DataError, match=needle):
        prepare(electrode_study, broken, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_located_error_is_one_line_from_the_cli(
    raw: Path, tmp_path: Path, electrode_study_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "raw"
    shutil.copytree(raw, broken)
    _edit_csv("samples.csv", 1, "sheet_area_cm2", "0")(broken)
    args = ["prepare", str(electrode_study_path), "--raw", str(broken), "--out", str(tmp_path / "out"), "--quiet"]
    with pytest.raises(SystemExit) as info:
        main(args)
    err = capsys.readouterr().err
    assert info.value.code == 1
    assert err.startswith("error: samples.csv: row 3, column 'sheet_area_cm2'")
    assert len(err.strip().splitlines()) == 1
