"""Bad impedance spectra and folder indexes through ``glassline eis fit``: every reader, headers, cells, windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from corpus_cli import Case, params, run_case

from glassline.cli import main
from glassline.eis import frequency_sweep, simulate_spectrum

F = frequency_sweep(1e4, 0.1, 10)
_Z = simulate_spectrum(F, r_sep=15.0, r_ion=100.0, q=2e-3, gamma=0.9, noise=0.0, rng=np.random.default_rng(0))
GOOD = "f,re,im\n" + "".join(f"{f:.8g},{z.real:.8g},{z.imag:.8g}\n" for f, z in zip(F, _Z, strict=True))
HEADER = "f,re,im\n"


def spectrum(case_id: str, name: str, content: str | bytes, *expect: str, options: tuple[str, ...] = ()) -> Case:
    """``glassline eis fit {tmp}/NAME -o {tmp}/rion.csv``; the message must name the file."""
    argv = ["eis", "fit", "{tmp}/" + name, "-o", "{tmp}/rion.csv", "-q", "-j", "1", *options]
    return Case(case_id, argv, [f"{{tmp}}/{name}", *expect], {name: content})


def option(case_id: str, options: tuple[str, ...], *expect: str) -> Case:
    """A good spectrum with a bad option: the message names the option and the value."""
    argv = ["eis", "fit", "{tmp}/s.csv", "-o", "{tmp}/rion.csv", "-q", "-j", "1", *options]
    return Case(case_id, argv, expect, {"s.csv": GOOD})


def indexed(case_id: str, index: str, *expect: str, extra: dict[str, str | bytes] | None = None) -> Case:
    """A folder with one good spectrum (a.csv) and *index* as its index.csv."""
    files: dict[str, str | bytes] = {"eis/a.csv": GOOD, "eis/index.csv": index, **(extra or {})}
    argv = ["eis", "fit", "{tmp}/eis", "-o", "{tmp}/rion.csv", "-q", "-j", "1"]
    return Case(case_id, argv, ["{tmp}/eis/index.csv", *expect], files)


CASES = [
    # --- the plain CSV reader
    spectrum("eis-csv-two-columns", "s.csv", "f,re\n1000,20\n", "row 1 (header): expected 3 columns", "found 2"),
    spectrum(
        "eis-csv-four-unnamed-header-columns",
        "s.csv",
        "a,b,c,d\n1000,20,-2,1\n",
        "row 1 (header)",
        "found 4",
        "no frequency or Re Z or Im Z",
    ),
    spectrum(
        "eis-csv-row-with-four-cells", "s.csv", "1000,20,-2\n100,25,-8,9\n", "row 2: expected 3 columns", "found 4"
    ),
    spectrum(
        "eis-csv-non-numeric",
        "s.csv",
        HEADER + "1000,20,abc\n",
        "row 2, column 3 ('im')",
        "expected a number [Ω], found 'abc'",
    ),
    spectrum("eis-csv-empty-cell", "s.csv", HEADER + "1000,,-2\n", "row 2, column 2 ('re')", "found an empty cell"),
    spectrum(
        "eis-csv-negative-frequency",
        "s.csv",
        HEADER + "-1000,20,-2\n",
        "row 2, column 1 ('f')",
        "expected a frequency > 0 Hz, found -1000",
    ),
    spectrum("eis-csv-zero-frequency", "s.csv", HEADER + "0,20,-2\n", "row 2, column 1 ('f')", "found 0"),
    spectrum(
        "eis-csv-duplicate-frequency",
        "s.csv",
        HEADER + "1000,20,-2\n1000,21,-3\n",
        "row 3, column 1",
        "found 1000 Hz again (first at row 2)",
    ),
    spectrum(
        "eis-csv-infinite-value",
        "s.csv",
        HEADER + "1000,inf,-2\n",
        "row 2, column 2 ('re')",
        "expected a finite number [Ω], found inf",
    ),
    spectrum("eis-csv-nan-value", "s.csv", HEADER + "1000,20,nan\n", "row 2, column 3 ('im')", "found nan"),
    spectrum("eis-csv-header-only", "s.csv", HEADER, "expected at least one data row", "found none"),
    # --- named headers (instrument-style CSV exports): the cell is named by the file's own column name
    spectrum(
        "eis-csv-named-header-without-imag",
        "s.csv",
        "freq/Hz,Re(Z)/Ohm,|Z|/Ohm,Phase(Z)/deg\n1000,20,20.1,-5\n",
        "row 1 (header)",
        "found 4 columns",
        "no Im Z among them",
    ),
    spectrum(
        "eis-csv-named-header-bad-cell",
        "s.csv",
        "time/s,freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm\n0,1000,20,2\n1,100,x,8\n",
        "row 3, column 3 ('Re(Z)/Ohm')",
        "expected a number [Ω], found 'x'",
    ),
    spectrum(
        "eis-csv-named-header-short-row",
        "s.csv",
        "time/s,freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm\n0,1000,20,2\n1,100,25\n",
        "row 3: expected 4 columns as in the header",
        "found 3",
    ),
    spectrum(
        "eis-csv-semicolon-decimal-comma-bad-cell",
        "s.csv",
        "Frequency (Hz);Z' (Ohm);-Z'' (Ohm)\n1000;20,5;2,1\n100;25,1;-\n",
        "row 3, column 3 (\"-Z'' (Ohm)\")",
        "expected a number [Ω], found '-'",
    ),
    spectrum("eis-csv-zero-bytes", "s.csv", "", "expected at least one data row"),
    spectrum("eis-csv-not-utf8", "s.csv", b"\xff\xfe\x00garbage", "not a UTF-8 text file"),
    # --- the other readers (impedance.py's and galvani's) and the sniffer
    spectrum(
        "eis-txt-unknown-layout", "s.txt", "hello world\nfoo\n", "could not tell which instrument wrote this file"
    ),
    spectrum(
        "eis-biologic-mpt-garbled", "s.mpt", "hello\n", "could not be read as a BioLogic EC-Lab text export (.mpt)"
    ),
    spectrum("eis-gamry-dta-without-zcurve", "s.DTA", "hello\n", "could not be read as a Gamry Framework file (.DTA)"),
    spectrum("eis-zplot-garbled", "s.z", "hello\n", "could not be read as a Scribner ZPlot file (.z)"),
    spectrum("eis-versastudio-garbled", "s.par", "hello\n", "could not be read as a VersaStudio file (.PAR)"),
    spectrum("eis-biologic-mpr-garbled", "s.mpr", b"hello\n", "BioLogic .mpr"),
    # --- frequency windows and options
    option(
        "eis-window-fmin-above-fmax", ("--fmin", "100", "--fmax", "10"), "--fmin must be below --fmax", "--fmax 10 Hz"
    ),
    option("eis-window-fmax-nan", ("--fmax", "nan"), "--fmax: expected a frequency > 0 Hz, got nan"),
    option("eis-window-fmin-negative", ("--fmin", "-1"), "--fmin: expected a frequency > 0 Hz", "got -1"),
    option("eis-tolerance-negative", ("--tolerance", "-1"), "--tolerance: expected a fraction > 0", "got -1"),
    option("eis-points-is-a-folder", ("--points", "{tmp}"), "--points", "{tmp}"),
    option(
        "eis-tolerance-zero",
        ("--fmin", "1e6", "--fmax", "1e7", "--tolerance", "0"),
        "--tolerance: expected a fraction > 0",
    ),
    Case(
        "eis-input-missing",
        ["eis", "fit", "{tmp}/nope.csv", "-o", "{tmp}/r.csv"],
        ["{tmp}/nope.csv: no such file or folder"],
    ),
    Case(
        "eis-folder-without-spectra",
        ["eis", "fit", "{tmp}/empty", "-o", "{tmp}/r.csv"],
        ["{tmp}/empty: expected spectrum files", "found none"],
        {"empty/notes.md": "x"},
    ),
    spectrum("eis-bad-file-in-folder-named", "eis/b.csv", HEADER + "1000,20,x\n", "row 2, column 3", options=()),
    # --- the folder's index.csv
    indexed(
        "eis-index-unknown-file", "file\nb.csv\n", "row 2, column 'file'", "expected an existing file", "found 'b.csv'"
    ),
    indexed("eis-index-no-file-column", "name\na.csv\n", "missing column 'file'", "['name']"),
    indexed(
        "eis-index-window-not-a-number",
        "file,fmin_hz\na.csv,abc\n",
        "row 2, column 'fmin_hz'",
        "expected a number [Hz], found 'abc'",
    ),
    indexed(
        "eis-index-window-reversed",
        "file,fmin_hz,fmax_hz\na.csv,100,10\n",
        "row 2, column 'fmin_hz'",
        "below fmax_hz (10 Hz), found 100 Hz",
    ),
    indexed(
        "eis-index-file-twice",
        "file\na.csv\na.csv\n",
        "row 3, column 'file'",
        "expected each file once",
        "first at row 2",
    ),
    indexed("eis-index-not-utf8", b"file\n\xff\xfe.csv\n", "not a UTF-8 text file"),
]


@pytest.mark.parametrize("bad", params(CASES))
def test_a_bad_spectrum_is_one_located_error(bad: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if bad.id == "eis-bad-file-in-folder-named":
        (tmp_path / "eis").mkdir(exist_ok=True)
        (tmp_path / "eis" / "a.csv").write_text(GOOD, encoding="utf-8")
        bad = Case(bad.id, ["eis", "fit", "{tmp}/eis", "-o", "{tmp}/rion.csv", "-q", "-j", "1"], bad.expect, bad.files)
    run_case(bad, tmp_path, capsys)
    assert not (tmp_path / "rion.csv").exists(), "no table is written when a file is bad"


def test_too_few_points_is_a_flag_not_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A spectrum with too few points stays in the table with its reason (a batch of cells does not stop),
    and the summary says so without a warning on stderr (no median of an empty column)."""
    (tmp_path / "s.csv").write_text(HEADER + "1000,20,-2\n100,25,-8\n", encoding="utf-8")
    with pytest.raises(SystemExit) as info:
        main(["eis", "fit", str(tmp_path / "s.csv"), "-o", str(tmp_path / "r.csv"), "-j", "1"])
    captured = capsys.readouterr()
    assert info.value.code == 0, captured.err
    assert "too few points: 2 in the window" in captured.out
    assert "median relative residual –" in captured.out
    assert "Warning" not in captured.err
