"""fit_folder: files and folders, index.csv windows, overrides, processes, order, errors, plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from glassline.eis import fit_folder, frequency_sweep, read_index, simulate_spectrum, spectrum_files
from glassline.exceptions import DataError

F = frequency_sweep(1e4, 0.1, 10)
REQUIRED = ["file", "r_ion", "r_sep", "q", "gamma", "residual", "flag"]


def make_line_folder(folder: Path, rng: np.random.Generator, n: int = 6) -> pd.DataFrame:
    """Spectra laid out as the simulated line writes them: eis/<file>.csv and eis/index.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        uncalendered = i % 2 == 1
        truth = {"r_sep": rng.uniform(9, 34), "r_ion": rng.uniform(76, 335), "q": 2e-3, "gamma": 0.9}
        contact = {"contact_ohm": 25.0, "contact_peak_hz": 2e4} if uncalendered else {}
        z = simulate_spectrum(F, **truth, **contact, noise=0.003, rng=rng)
        name = f"cell_{n - i:02d}.csv"  # index order differs from name order
        np.savetxt(folder / name, np.column_stack([F, z.real, z.imag]), delimiter=",")
        rows.append(
            {
                "file": name,
                "configuration": f"K{i // 2}",
                "state": "uncalendered" if uncalendered else "calendered",
                "cell": i,
                "fmin_hz": 0.1 if uncalendered else None,
                "fmax_hz": 1000.0 if uncalendered else None,
                "r_ion_true": truth["r_ion"],
            }
        )
    index = pd.DataFrame(rows)
    index.drop(columns="r_ion_true").to_csv(folder / "index.csv", index=False)
    return index


def test_folder_with_index_uses_its_order_windows_and_columns(tmp_path: Path, rng: np.random.Generator) -> None:
    index = make_line_folder(tmp_path / "eis", rng)
    table = fit_folder(tmp_path / "eis", processes=1)
    assert list(table["file"]) == list(index["file"])
    assert list(table.columns[:4]) == ["file", "configuration", "state", "cell"]
    for column in REQUIRED:
        assert column in table.columns
    unc = table["state"] == "uncalendered"
    assert (table.loc[unc, "n_points"] == 41).all()
    np.testing.assert_allclose(table.loc[unc, "fmax_hz"], 1000.0)
    assert (table.loc[~unc, "n_points"] == 51).all()
    np.testing.assert_allclose(table["r_ion"], index["r_ion_true"], rtol=0.03)
    assert table.attrs["units"]["r_ion"] == "Ω"
    assert table.attrs["units"]["q"] == "F·s^(γ−1)"


def test_folder_without_index_is_sorted_by_name(tmp_path: Path, rng: np.random.Generator) -> None:
    make_line_folder(tmp_path, rng, n=3)
    (tmp_path / "index.csv").unlink()
    (tmp_path / "notes.md").write_text("not a spectrum", encoding="utf-8")
    table = fit_folder(tmp_path, processes=1)
    assert list(table["file"]) == ["cell_01.csv", "cell_02.csv", "cell_03.csv"]
    assert (table["n_points"] == 51).all()
    assert spectrum_files(tmp_path, exclude=[tmp_path / "cell_02.csv"])[1].name == "cell_03.csv"


def test_two_processes_give_the_same_table_in_the_same_order(tmp_path: Path, rng: np.random.Generator) -> None:
    make_line_folder(tmp_path, rng, n=8)
    calls: list[tuple[str, int, int]] = []
    one = fit_folder(tmp_path, processes=1)
    two = fit_folder(tmp_path, processes=2, progress=lambda label, done, total: calls.append((label, done, total)))
    pd.testing.assert_frame_equal(one, two)
    assert calls[0] == ("fitting", 0, 8)
    assert calls[-1][1:] == (8, 8)


def test_global_window_overrides_the_index(tmp_path: Path, rng: np.random.Generator) -> None:
    make_line_folder(tmp_path, rng, n=2)
    table = fit_folder(tmp_path, fmin=1.0, processes=1)
    np.testing.assert_allclose(table["fmin_hz"], 1.0)
    assert list(table["fmax_hz"]) == pytest.approx([1e4, 1e3])  # fmax still from the index


def test_windows_mapping_overrides_the_index(tmp_path: Path, rng: np.random.Generator) -> None:
    make_line_folder(tmp_path, rng, n=2)
    table = fit_folder(tmp_path, windows={"cell_02.csv": (1.0, 100.0)}, processes=1)
    row = table.set_index("file").loc["cell_02.csv"]
    assert (row["fmin_hz"], row["fmax_hz"]) == pytest.approx((1.0, 100.0))


def test_single_file_and_list_of_files(tmp_path: Path, rng: np.random.Generator) -> None:
    make_line_folder(tmp_path, rng, n=2)
    one = fit_folder(tmp_path / "cell_01.csv")
    assert list(one["file"]) == [str(tmp_path / "cell_01.csv")]
    assert one["n_points"].iloc[0] == 41  # the window still comes from the folder's index
    both = fit_folder([tmp_path / "cell_02.csv", tmp_path / "cell_01.csv"], processes=1)
    assert list(both["n_points"]) == [51, 41]


def test_a_bad_file_stops_the_batch_with_one_error(tmp_path: Path, rng: np.random.Generator) -> None:
    make_line_folder(tmp_path, rng, n=3)
    (tmp_path / "index.csv").unlink()
    (tmp_path / "cell_00.csv").write_text("1000,20,-2\n100,oops,-8\n", encoding="utf-8")
    (tmp_path / "cell_99.csv").write_text("1000,20\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"cell_00\.csv: row 2, column 2 \('Re Z'\).*found 'oops' \(1 more bad files\)"):
        fit_folder(tmp_path, processes=2)


def test_output_table_in_the_folder_can_be_excluded(tmp_path: Path, rng: np.random.Generator) -> None:
    make_line_folder(tmp_path, rng, n=2)
    (tmp_path / "index.csv").unlink()
    out = tmp_path / "rion.csv"
    fit_folder(tmp_path, processes=1).to_csv(out, index=False)
    table = fit_folder(tmp_path, processes=1, exclude=[out])
    assert "rion.csv" not in set(table["file"])


def test_plots_are_written(tmp_path: Path, rng: np.random.Generator) -> None:
    make_line_folder(tmp_path / "eis", rng, n=2)
    table = fit_folder(tmp_path / "eis", processes=1, plots=tmp_path / "plots")
    for path in table["plot"]:
        assert Path(path).is_file()
        assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("index_text", "message"),
    [
        ("name,fmin_hz\ncell_01.csv,1\n", r"index\.csv: missing column 'file'"),
        (
            "file,fmin_hz\ncell_01.csv,abc\n",
            r"index\.csv: row 2, column 'fmin_hz': expected a number \[Hz\], found 'abc'",
        ),
        ("file,fmin_hz\ncell_01.csv,-1\n", r"row 2, column 'fmin_hz': expected a frequency > 0 Hz or an empty cell"),
        ("file,fmin_hz,fmax_hz\ncell_01.csv,100,10\n", r"row 2, column 'fmin_hz': expected a value below fmax_hz"),
        ("file\ncell_01.csv\nmissing.csv\n", r"row 3, column 'file': expected an existing file .*found 'missing\.csv'"),
        ("file\ncell_01.csv\ncell_01.csv\n", r"row 3, column 'file': expected each file once.*first at row 2"),
        ("", r"index\.csv: could not be read as a CSV table"),
    ],
)
def test_bad_index_gets_one_located_error(
    tmp_path: Path, rng: np.random.Generator, index_text: str, message: str
) -> None:
    make_line_folder(tmp_path, rng, n=1)
    (tmp_path / "index.csv").write_text(index_text, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        fit_folder(tmp_path, processes=1)


def test_read_index_without_index_is_none(tmp_path: Path) -> None:
    assert read_index(tmp_path) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"processes": 0}, "processes must be ≥ 1"),
        ({"tolerance": -0.1}, "tolerance must be a fraction > 0"),
        ({"fmin": 10.0, "fmax": 1.0}, "fmin must be below fmax"),
    ],
)
def test_bad_options(tmp_path: Path, rng: np.random.Generator, kwargs: dict[str, object], message: str) -> None:
    make_line_folder(tmp_path, rng, n=1)
    with pytest.raises(DataError, match=message):
        fit_folder(tmp_path, **kwargs)  # type: ignore[arg-type]


def test_empty_folder_and_missing_input(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"expected spectrum files .* found none"):
        fit_folder(tmp_path)
    with pytest.raises(DataError, match="no such file or folder"):
        fit_folder(tmp_path / "nope")
    with pytest.raises(DataError, match="got nothing"):
        fit_folder([])
