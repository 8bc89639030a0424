"""Run sheets (seeded order, real units, configuration ids, CSV/Excel) and reading designs back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from glassline.cli import main
from glassline.design import (
    RANDOMISATION_REASON,
    Design,
    DesignSpace,
    optimal_design,
    read_design,
    run_order_note,
    run_sheet,
    write_run_sheet,
)
from glassline.exceptions import DataError, DesignError
from glassline.spec import LinearConstraint, load_study


@pytest.fixture
def electrode_design(electrode_study_path: Path) -> Design:
    study = load_study(electrode_study_path)
    return optimal_design(study, 17, seed=study.seed, off_grid=False)


def test_run_order_is_random_but_seeded(electrode_design: Design) -> None:
    a = run_sheet(electrode_design, seed=1)
    b = run_sheet(electrode_design, seed=1)
    c = run_sheet(electrode_design, seed=2)
    pd.testing.assert_frame_equal(a, b)
    assert a["std_order"].tolist() != c["std_order"].tolist()
    assert a["run"].tolist() == list(range(1, 18))
    assert sorted(a["std_order"]) == list(range(1, 18))
    standard = run_sheet(electrode_design, seed=None)
    assert standard["std_order"].tolist() == list(range(1, 18))


def test_the_sheet_says_whether_its_order_is_randomised_and_why(electrode_design: Design, tmp_path: Path) -> None:
    shuffled, standard = run_sheet(electrode_design, seed=4), run_sheet(electrode_design, seed=None)
    assert shuffled.attrs["order_note"] == run_order_note(4)
    assert shuffled.attrs["order_note"].startswith("Run order randomised with seed 4")
    assert standard.attrs["order_note"].startswith("Run order NOT randomised")
    for note in (shuffled.attrs["order_note"], standard.attrs["order_note"]):
        assert note.endswith(RANDOMISATION_REASON)
    assert "drift" in RANDOMISATION_REASON
    assert "random order" in RANDOMISATION_REASON
    path = write_run_sheet(shuffled, tmp_path / "design.xlsx", space=electrode_design.space)
    notes = pd.read_excel(path, sheet_name="notes")
    assert notes["note"].tolist() == [run_order_note(4)]
    assert len(read_design(path, electrode_design.space)) == len(shuffled)  # the runs sheet reads back alone


def test_sheet_in_real_units_with_configuration_ids(electrode_design: Design) -> None:
    sheet = run_sheet(electrode_design, seed=3).sort_values("std_order")
    assert list(sheet.columns) == [
        "run",
        "std_order",
        "configuration",
        "role",
        "mass_loading",
        "drying_temperature",
        "porosity",
    ]
    assert set(sheet["mass_loading"]) <= {8.2, 9.7, 11.2}
    assert set(sheet["porosity"]) <= {25.0, 32.5, 40.0}
    # replicates share an id, different settings never do
    settings = sheet[["mass_loading", "drying_temperature", "porosity"]].apply(tuple, axis=1)
    pairs = set(zip(sheet["configuration"], settings, strict=True))
    assert len(pairs) == sheet["configuration"].nunique() == settings.nunique() < 17
    assert sheet["configuration"].iloc[0] == "C01"


def test_csv_and_excel_round_trip(electrode_design: Design, tmp_path: Path) -> None:
    sheet = run_sheet(electrode_design, seed=1)
    space = electrode_design.space
    for name in ("design.csv", "design.xlsx"):
        path = write_run_sheet(sheet, tmp_path / name, space=space)
        table = read_design(path, space)
        back = Design.from_table(table, space, source=str(path))
        assert back.i_value == pytest.approx(electrode_design.i_value)
    factors = pd.read_excel(tmp_path / "design.xlsx", sheet_name="factors")
    assert factors["unit"].tolist() == ["mg/cm²", "°C", "%"]
    with pytest.raises(DesignError, match=r"\.csv or \.xlsx"):
        write_run_sheet(sheet, tmp_path / "design.json")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "mass_loading,drying_temperature,porosity\n9.7,57.5,32.5\n9.7,abc,32.5\n",
            r"bad\.csv: row 3, column 'drying_temperature': expected a number \[°C\], found 'abc'",
        ),
        (
            "mass_loading,drying_temperature,porosity\n9.7,57.5,32.5\n9.7,57.5,45\n",
            r"bad\.csv: row 3, column 'porosity': expected a value in 25 … 40 \[%\], found 45",
        ),
        (
            "mass_loading,drying_temp,porosity\n9.7,57.5,32.5\n",
            r"bad\.csv: missing column 'drying_temperature'.*Did you mean 'drying_temp'",
        ),
        (
            "mass_loading,drying_temperature,porosity\n9.7,,32.5\n",
            r"bad\.csv: row 2, column 'drying_temperature': expected a number \[°C\], found an empty cell",
        ),
    ],
)
def test_bad_design_file_names_file_row_and_column(
    tmp_path: Path, electrode_design: Design, content: str, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        read_design(path, electrode_design.space)


def test_bad_level_and_constraint_violation(tmp_path: Path) -> None:
    space = DesignSpace.from_ranges(
        {"a": (0, 10), "b": (0, 10), "kind": ["wet", "dry"]},
        [LinearConstraint(coefficients={"a": 1, "b": 1}, upper=12, label="budget")],
    )
    path = tmp_path / "runs.csv"
    path.write_text("a,b,kind\n1,2,wet\n3,4,drt\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"runs\.csv: row 3, column 'kind': .*found 'drt'.*Did you mean 'dry'"):
        read_design(path, space)
    path.write_text("a,b,kind\n1,2,wet\n8,7,dry\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"runs\.csv: row 3: the run violates constraint 0 \(budget\).*15 > 12"):
        read_design(path, space)


def test_table_with_extra_columns_is_accepted() -> None:
    space = DesignSpace.from_ranges({"a": (0, 1), "b": (0, 1)})
    table = pd.DataFrame({"run": [1, 2, 3, 4], "a": [0, 1, 0, 1], "b": [0, 0, 1, 1], "y": [3.0, 4, 5, 6]})
    design = Design.from_table(table, space, "linear")
    assert np.array_equal(design.points, [[-1, -1], [1, -1], [-1, 1], [1, 1]])


def test_glassline_design_prints_the_order_note(
    electrode_study_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(
            [
                "design",
                str(electrode_study_path),
                "--runs",
                "17",
                "--out",
                str(tmp_path / "d.csv"),
                "--json",
                str(tmp_path / "d.json"),
                "--quiet",
            ]
        )
    assert int(info.value.code or 0) == 0
    payload = json.loads((tmp_path / "d.json").read_text(encoding="utf-8"))
    assert payload["run_order_note"].startswith("Run order randomised with seed")
    text = " ".join(capsys.readouterr().out.split())
    assert "Run order randomised with seed" in text
    assert " ".join(RANDOMISATION_REASON.split()) in text
