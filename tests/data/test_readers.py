"""Table readers: every format, and one clear error per bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from glassline.data import read_table, require_columns, require_numeric
from glassline.exceptions import DataError

FRAME = pd.DataFrame({"configuration": ["C01", "C02"], "mass_loading": [8.2, 11.2], "porosity": [25.0, 40.0]})


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"t{suffix}"
    if suffix == ".csv":
        FRAME.to_csv(path, index=False)
    elif suffix == ".parquet":
        FRAME.to_parquet(path)
    else:
        FRAME.to_excel(path, index=False)
    back = read_table(path)
    pd.testing.assert_frame_equal(back, FRAME, check_dtype=False)


def test_one_column_csv(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("file\nsym_C01_cal_01.csv\nsym_C02_cal_01.csv\n", encoding="utf-8")
    assert read_table(path)["file"].tolist() == ["sym_C01_cal_01.csv", "sym_C02_cal_01.csv"]


def test_semicolon_csv_is_sniffed(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a;b\n1;2\n3;4\n", encoding="utf-8")
    assert list(read_table(path).columns) == ["a", "b"]


@pytest.mark.parametrize(
    ("content", "name", "needle"),
    [
        (None, "missing.csv", "no such file"),
        ("a,b\n", "empty.csv", "no data rows"),
        ("x", "t.json", "unknown table format '.json'"),
        (b"\xff\xfe\x00\x01garbage", "t.parquet", "could not be read as a parquet table"),
    ],
)
def test_bad_files(tmp_path: Path, content: str | bytes | None, name: str, needle: str) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=needle) as info:
        read_table(path)
    assert name in str(info.value)


def test_folder_is_not_a_table(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is a folder"):
        read_table(tmp_path)


def test_missing_column_suggests() -> None:
    with pytest.raises(DataError, match=r"d\.csv: missing column 'porosty'.*Did you mean 'porosity'"):
        require_columns(FRAME, ["mass_loading", "porosty"], source="d.csv")


def test_numeric_checks_name_row_and_column() -> None:
    frame = pd.DataFrame({"x": ["1.0", "2", "abc"], "y": [1.0, np.nan, 3.0], "z": [1.0, np.inf, 2.0]})
    with pytest.raises(DataError, match=r"d\.csv: row 4, column 'x': expected a number \[µm\], found 'abc'"):
        require_numeric(frame, ["x"], source="d.csv", units={"x": "µm"})
    with pytest.raises(DataError, match=r"row 3, column 'y': expected a number, found an empty cell"):
        require_numeric(frame, ["y"], source="d.csv")
    assert np.isnan(require_numeric(frame, ["y"], source="d.csv", allow_missing=True)["y"].iloc[1])
    with pytest.raises(DataError, match=r"row 3, column 'z': expected a finite number"):
        require_numeric(frame, ["z"], source="d.csv")


def test_range_check() -> None:
    frame = pd.DataFrame({"porosity": [30.0, 120.0, 150.0]})
    with pytest.raises(
        DataError, match=r"row 3, column 'porosity': expected a value in 0 … 100 \[%\], found 120 \(2 rows"
    ):
        require_numeric(frame, ["porosity"], source="d.csv", ranges={"porosity": (0, 100)}, units={"porosity": "%"})
    out = require_numeric(frame.iloc[:1], ["porosity"], source="d.csv", ranges={"porosity": (0, None)})
    assert out["porosity"].dtype == float


def test_numeric_columns_convert_as_their_text_does() -> None:
    """A column read as numbers takes the fast path; it gives what the same cells as text give."""
    frame = pd.DataFrame({"x": [1.5, 2.0, -3.25e-7, 4.0], "n": [1, 2, 3, 4], "b": [True, False, True, True]})
    as_text = frame.astype(str).astype(object)
    fast = require_numeric(frame, ["x", "n"], source="t.csv")
    slow = require_numeric(as_text, ["x", "n"], source="t.csv")
    pd.testing.assert_frame_equal(fast[["x", "n"]], slow[["x", "n"]])
    with pytest.raises(DataError, match=r"row 3, column 'x'.*empty cell"):
        require_numeric(frame.assign(x=[1.0, np.nan, 2.0, 3.0]), ["x"], source="t.csv")
    with pytest.raises(DataError, match=r"row 5, column 'x': expected a value in -∞ … 2, found 4 \(1 rows outside\)"):
        require_numeric(frame, ["x"], source="t.csv", ranges={"x": (None, 2.0)})
