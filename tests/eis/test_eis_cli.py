"""``glassline eis fit``: exit codes, the summary, rion.csv, windows, plots and the one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from glassline.cli import main
from glassline.eis import frequency_sweep, simulate_spectrum

F = frequency_sweep(1e4, 0.1, 10)


def run(args: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(args)
    return int(info.value.code or 0)


@pytest.fixture
def folder(tmp_path: Path, rng: np.random.Generator) -> Path:
    eis = tmp_path / "eis"
    eis.mkdir()
    rows = []
    for i in range(4):
        z = simulate_spectrum(
            F, r_sep=15.0, r_ion=100.0 + 50 * i, q=2e-3, gamma=0.9, contact_ohm=20.0 * (i % 2), noise=0.005, rng=rng
        )
        np.savetxt(eis / f"cell_{i}.csv", np.column_stack([F, z.real, z.imag]), delimiter=",", header="f,re,im")
        rows.append(f"cell_{i}.csv,K1,{'uncalendered' if i % 2 else 'calendered'},{i},,{'1000' if i % 2 else ''}")
    (eis / "index.csv").write_text(
        "file,configuration,state,cell,fmin_hz,fmax_hz\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    return eis


def test_fit_folder_writes_rion_csv(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out" / "rion.csv"
    assert run(["eis", "fit", str(folder), "--out", str(out), "--processes", "2", "--quiet"]) == 0
    stdout = capsys.readouterr().out
    assert "fitted 4 spectra: 0 flagged, median relative residual" in stdout
    table = pd.read_csv(out, keep_default_na=False)
    for column in ("file", "r_ion", "r_sep", "q", "gamma", "residual", "flag", "r_ion_unweighted", "r_ion_weighted"):
        assert column in table.columns
    for column in ("fmin_hz", "fmax_hz", "n_points", "state"):
        assert column in table.columns
    assert list(table["file"]) == [f"cell_{i}.csv" for i in range(4)]
    assert list(table["n_points"]) == [51, 41, 51, 41]
    np.testing.assert_allclose(table["r_ion"], [100, 150, 200, 250], rtol=0.03)
    assert (table["flag"] == "").all()


def test_fit_one_file_with_window_and_plots(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "one.csv"
    plots = tmp_path / "plots"
    window = ["--fmin", "0.1", "--fmax", "1000"]
    code = run(["eis", "fit", str(folder / "cell_0.csv"), "-o", str(out), *window, "--plots", str(plots)])
    assert code == 0
    table = pd.read_csv(out)
    assert table["n_points"].tolist() == [41]
    assert len(list(plots.glob("*.png"))) == 1
    stdout = capsys.readouterr().out
    assert "fitted 1 spectrum:" in stdout
    assert "Nyquist plots in" in stdout


def test_flagged_spectra_are_listed(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rion.csv"
    assert run(["eis", "fit", str(folder), "-o", str(out), "--tolerance", "1e-9", "-j", "1", "-q"]) == 0
    stdout = capsys.readouterr().out
    assert "flagged spectra (4)" in stdout
    assert "fitted 4 spectra: 4 flagged" in stdout
    assert pd.read_csv(out)["flag"].str.contains("differ").all()


def test_output_inside_the_input_folder_is_not_read_back(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (folder / "index.csv").unlink()
    out = folder / "rion.csv"
    assert run(["eis", "fit", str(folder), "-o", str(out), "-q"]) == 0
    assert run(["eis", "fit", str(folder), "-o", str(out), "-q"]) == 0  # rion.csv is not a spectrum
    assert "fitted 4 spectra" in capsys.readouterr().out


def test_bad_file_is_one_red_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("1000,20,-2\n100,25,-8,9\n", encoding="utf-8")
    assert run(["eis", "fit", str(bad), "-o", str(tmp_path / "rion.csv")]) == 1
    err = capsys.readouterr().err
    assert "error:" in err
    assert "bad.csv: row 2: expected 3 columns" in err
    assert "Traceback" not in err
    assert not (tmp_path / "rion.csv").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--tolerance", "0"], "--tolerance: expected a fraction > 0"),
        (["--fmin", "-1"], "--fmin: expected a frequency > 0"),
    ],
)
def test_bad_options_are_one_red_line(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    assert run(["eis", "fit", str(folder), "-o", str(tmp_path / "r.csv"), *options]) == 1
    assert message in capsys.readouterr().err


def test_missing_input_and_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["eis", "fit", str(tmp_path / "nope"), "-o", str(tmp_path / "r.csv")]) == 1
    assert "no such file or folder" in capsys.readouterr().err
    assert run(["eis", "fit", str(tmp_path)]) == 2  # --out is required
    assert run(["eis", "fit", str(tmp_path), "-o", "r.csv", "--processes", "0"]) == 2


def test_help_lists_the_eis_group(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["eis", "--help"]) == 0
    assert "fit" in capsys.readouterr().out
