"""Raw-table schemas: located errors for numbers, limits, categories and labels; the row account of ``prepare``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_prepare_tables import STUDY, toy_tables

from glassline import study_from_dict
from glassline.data import (
    CleaningLog,
    Column,
    TableSchema,
    check_categories,
    prepare,
    read_table,
    require_numeric,
)
from glassline.exceptions import DataError

SCHEMA = TableSchema(
    (
        Column("sample", kind="label"),
        Column("mode", kind="category", allowed=("wet", "dry")),
        Column("line", kind="category"),
        Column("mass_g", unit="g", low=0.0, low_open=True, high=1000.0, basis="one sheet"),
        Column("gap_um", unit="µm", low=0.0, high=500.0, missing=True),
    ),
    min_rows=2,
    why="two sheets per run",
)


def _csv(tmp_path: Path, text: str) -> pd.DataFrame:
    path = tmp_path / "sheets.csv"
    path.write_text(text, encoding="utf-8")
    return read_table(path)


GOOD = "sample,mode,line,mass_g,gap_um\nA1,wet,L1,5.2,100\nA2,dry,L2,5.1,\n"


def test_a_good_table_passes_unchanged(tmp_path: Path) -> None:
    log = CleaningLog()
    frame = SCHEMA.check(_csv(tmp_path, GOOD), source="sheets.csv", log=log, allowed={"line": ["L1", "L2"]})
    assert frame["mode"].tolist() == ["wet", "dry"]
    assert frame["mass_g"].tolist() == [5.2, 5.1]
    assert np.isnan(frame["gap_um"].iloc[1])
    assert len(log) == 0


def test_case_and_spacing_of_a_category_are_normalised_and_logged(tmp_path: Path) -> None:
    log = CleaningLog()
    text = GOOD.replace("A1,wet", "A1,Wet").replace("A2,dry", "A2,dry ")
    frame = SCHEMA.check(_csv(tmp_path, text), source="sheets.csv", log=log, allowed={"line": ["L1", "L2"]})
    assert frame["mode"].tolist() == ["wet", "dry"]
    logged = log.to_frame()
    assert logged["row"].tolist() == [2, 3]
    assert set(logged["action"]) == {"normalised"}
    assert set(logged["column"]) == {"mode"}
    assert logged["value"].tolist() == ["Wet", "dry "]


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (
            ("A1,wet", "A1,wett"),
            r"sheets\.csv: row 2, column 'mode': expected one of \['dry', 'wet'\], found 'wett'\. Did you mean 'wet'\?",
        ),
        (("A2,dry,L2", "A2,dry,L9"), r"row 3, column 'line': expected one of \['L1', 'L2'\], found 'L9'"),
        (("A2,dry,", "A2,,"), r"row 3, column 'mode': expected one of \['dry', 'wet'\], found an empty cell"),
        (
            ("5.2", "-1"),
            r"row 2, column 'mass_g': expected a value in \(0, 1000\] g, found -1 \(limits for one sheet\)",
        ),
        (("5.2", "0"), r"row 2, column 'mass_g': expected a value in \(0, 1000\] g, found 0"),
        (("5.2", "1e308"), r"row 2, column 'mass_g': expected a value in \(0, 1000\] g, found 1e\+308"),
        (("5.2", "NaN"), r"row 2, column 'mass_g': expected a number, found 'NaN' \(a missing-value marker\)"),
        (("5.2", "n/a"), r"row 2, column 'mass_g': expected a number, found 'n/a' \(a missing-value marker\)"),
        (("5.2", ""), r"row 2, column 'mass_g': expected a number, found an empty cell"),
        (("100", "900"), r"row 2, column 'gap_um': expected a value in \[0, 500\] µm, found 900"),
        (("A1,", ","), r"row 2, column 'sample': expected a label, found an empty cell"),
        (("A1,", "NA,"), r"row 2, column 'sample': expected a label, found 'NA' \(a missing-value marker\)"),
    ],
)
def test_bad_cells_are_located(tmp_path: Path, edit: tuple[str, str], needle: str) -> None:
    frame = _csv(tmp_path, GOOD.replace(*edit, 1))
    with pytest.raises(DataError, match=needle):
        SCHEMA.check(frame, source="sheets.csv", log=CleaningLog(), allowed={"line": ["L1", "L2"]})


def test_too_few_rows_are_said(tmp_path: Path) -> None:
    frame = _csv(tmp_path, GOOD.rsplit("A2", 1)[0])
    with pytest.raises(DataError, match=r"sheets\.csv: 1 data row; at least 2 are needed \(two sheets per run\)"):
        SCHEMA.check(frame, source="sheets.csv", log=CleaningLog(), allowed={"line": ["L1", "L2"]})


def test_a_missing_marker_is_a_missing_value_where_gaps_are_allowed() -> None:
    frame = pd.DataFrame({"x": ["1.5", "NaN", "n/a", ""]})
    out = require_numeric(frame, ["x"], source="t.csv", allow_missing=True)
    assert out["x"].iloc[0] == 1.5
    assert out["x"].isna().tolist() == [False, True, True, True]


def test_check_categories_compares_numbers_as_text() -> None:
    log = CleaningLog()
    out = check_categories(pd.Series([1.0, 2.0]), ["1", "2"], column="step", source="t.csv", log=log)
    assert out.tolist() == ["1", "2"]


# ---------------------------------------------------------------- the row account of prepare
def test_every_row_of_a_tables_folder_is_accounted_for(rng: np.random.Generator, tmp_path: Path) -> None:
    study = study_from_dict(STUDY)
    raw = toy_tables(rng, tmp_path)
    # inject rows that must be dropped: a duplicate, a row without responses, and (in cell) all responses out
    specimen = pd.read_csv(raw / "specimen.csv")
    specimen = pd.concat([specimen, specimen.iloc[[0]], specimen.iloc[[1]].assign(strength=np.nan)], ignore_index=True)
    specimen.to_csv(raw / "specimen.csv", index=False)
    cell = pd.read_parquet(raw / "cell.parquet")
    cell.loc[len(cell)] = {**cell.iloc[0].to_dict(), "capacity": 40.0, "resistance": 5000.0}
    cell.to_parquet(raw / "cell.parquet", index=False)
    dataset = prepare(study, raw, tmp_path / "out")
    account = dataset.metadata["rows"]
    log = dataset.log.to_frame()
    for file, frame in (("specimen.csv", specimen), ("cell.parquet", cell)):
        entry = account[file]
        assert entry["rows_in"] == len(frame)
        assert entry["rows_in"] == sum(entry["used"].values()) + sum(entry["dropped"].values()) + entry["set_aside"]
    dropped = log[log["action"] == "dropped"]
    specimen_rows = set(dropped.loc[dropped["file"] == "specimen.csv", "row"].astype(int))
    assert {len(specimen) + 0, len(specimen) + 1} <= specimen_rows  # the two injected rows (1-based + header)
    cell_rows = set(dropped.loc[dropped["file"] == "cell.parquet", "row"].astype(int))
    assert len(cell) + 1 in cell_rows  # both responses outliers: the row is dropped, and says so
    assert len(dataset.tables["specimen"]) == account["specimen.csv"]["used"]["specimen"]


def test_the_account_catches_a_row_that_vanished() -> None:
    log = CleaningLog()
    log.received("a.csv", [2, 3, 4, 5])
    log.used("a.csv", "out", [2, 3])
    log.add(file="a.csv", row=4, rule="duplicate row", reason="identical to an earlier row")
    with pytest.raises(DataError, match=r"a\.csv: 1 of 4 rows are in no output table and not in the cleaning log"):
        log.account()
    log.set_aside("a.csv", [5], rule="between steps", reason="not in a step")
    assert log.account()["a.csv"] == {"rows_in": 4, "used": {"out": 2}, "dropped": {"duplicate row": 1}, "set_aside": 1}
    log.used("a.csv", "out", [4])
    with pytest.raises(DataError, match=r"rows 4 are both in an output table and logged as left out"):
        log.account()


def test_a_level_with_one_row_is_refused(rng: np.random.Generator, tmp_path: Path) -> None:
    raw = toy_tables(rng, tmp_path)
    specimen = pd.read_csv(raw / "specimen.csv")
    specimen.iloc[:1].to_csv(raw / "specimen.csv", index=False)
    with pytest.raises(DataError, match=r"specimen\.csv: the level 'specimen' keeps 1 row in 1 group"):
        prepare(study_from_dict(STUDY), raw, tmp_path / "out")


def test_a_categorical_factor_is_checked_against_its_levels(rng: np.random.Generator, tmp_path: Path) -> None:
    study = study_from_dict({**STUDY, "factors": [*STUDY["factors"], {"name": "tool", "levels": ["blade", "slot"]}]})
    raw = toy_tables(rng, tmp_path)
    specimen = pd.read_csv(raw / "specimen.csv")
    specimen["tool"] = ["blade", "Slot ", *["slot"] * (len(specimen) - 2)]
    specimen.to_csv(raw / "specimen.csv", index=False)
    dataset = prepare(study, raw, tmp_path / "out")
    assert set(dataset.tables["specimen"]["tool"]) == {"blade", "slot"}
    normalised = dataset.log.to_frame().query("action == 'normalised'")
    assert normalised[["row", "column", "value"]].values.tolist() == [[3, "tool", "Slot "]]
    specimen.loc[4, "tool"] = "sloot"
    specimen.to_csv(raw / "specimen.csv", index=False)
    with pytest.raises(DataError, match=r"row 6, column 'tool': expected one of \['blade', 'slot'\], found 'sloot'"):
        prepare(study, raw, tmp_path / "out2")


def test_group_labels_with_stray_spaces_are_one_group(rng: np.random.Generator, tmp_path: Path) -> None:
    raw = toy_tables(rng, tmp_path)
    specimen = pd.read_csv(raw / "specimen.csv")
    specimen["configuration"] = specimen["configuration"].astype(object)
    specimen.loc[0, "configuration"] = " C0 "
    specimen.to_csv(raw / "specimen.csv", index=False)
    dataset = prepare(study_from_dict(STUDY), raw, tmp_path / "out")
    assert dataset.metadata["levels"]["specimen"]["groups"] == 6
    spaced = dataset.log.to_frame().query("rule == 'label spacing'")
    assert spaced[["file", "row", "value"]].values.tolist() == [["specimen.csv", 2, " C0 "]]
