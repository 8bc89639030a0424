"""Spectrum readers: plain CSV (with and without header), BioLogic .mpt, galvani missing, every bad file."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glassline.eis import Spectrum, check_spectrum, read_spectrum
from glassline.exceptions import DataError

F = np.array([1000.0, 100.0, 10.0, 1.0, 0.1])
Z = np.array([20 - 2j, 25 - 8j, 40 - 30j, 80 - 200j, 100 - 1500j])


def write_csv(path: Path, f: np.ndarray, z: np.ndarray, header: str | None = None) -> Path:
    lines = [header] if header is not None else []
    lines += [f"{float(a)!r},{float(b.real)!r},{float(b.imag)!r}" for a, b in zip(f, z, strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_plain_csv_without_header_matches_impedance_reader(tmp_path: Path) -> None:
    from impedance.preprocessing import readCSV

    path = write_csv(tmp_path / "a.csv", F, Z)
    spectrum = read_spectrum(path)
    f, z = readCSV(str(path))
    np.testing.assert_array_equal(spectrum.frequency_hz, f)
    np.testing.assert_array_equal(spectrum.z, z)
    assert spectrum.source == str(path)
    assert len(spectrum) == 5


def test_plain_csv_with_header_row(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", F, Z, header="frequency_hz, re_z_ohm, im_z_ohm")
    spectrum = read_spectrum(path)
    np.testing.assert_array_equal(spectrum.frequency_hz, F)
    np.testing.assert_array_equal(spectrum.z, Z)


def test_impedance_readcsv_turns_a_header_into_nan(tmp_path: Path) -> None:
    """Why glassline parses CSV itself: impedance.py's readCSV gives no error, only NaN."""
    from impedance.preprocessing import readCSV

    path = write_csv(tmp_path / "a.csv", F, Z, header="freq,ReZ,ImZ")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f, _ = readCSV(str(path))
    assert np.isnan(f[0])


def test_csv_written_by_impedance_savecsv(tmp_path: Path) -> None:
    from impedance.preprocessing import saveCSV

    saveCSV(str(tmp_path / "saved"), F, Z)
    spectrum = read_spectrum(tmp_path / "saved.csv")
    np.testing.assert_allclose(spectrum.z, Z)


def test_header_declaring_minus_im_is_converted(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", F, Z.conjugate(), header="freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm")
    np.testing.assert_array_equal(read_spectrum(path).z, Z)


def write_mpt(path: Path, f: np.ndarray, z: np.ndarray, *, im_column: str = "-Im(Z)/Ohm") -> Path:
    """A BioLogic EC-Lab text export as impedance.py's readBioLogic expects it."""
    columns = ["freq/Hz", "Re(Z)/Ohm", im_column, "|Z|/Ohm", "time/s"]
    head = ["EC-Lab ASCII FILE", "Nb header lines : 5", "", "Potentio Electrochemical Impedance Spectroscopy"]
    head.append("\t".join(columns) + "\t")
    rows = [
        f"{a:.6e}\t{b.real:.6e}\t{-b.imag:.6e}\t{abs(b):.6e}\t{i:.1f}\t"
        for i, (a, b) in enumerate(zip(f, z, strict=True))
    ]
    path.write_text("\n".join(head + rows) + "\n", encoding="latin-1")
    return path


def test_biologic_mpt(tmp_path: Path) -> None:
    spectrum = read_spectrum(write_mpt(tmp_path / "cell.mpt", F, Z))
    np.testing.assert_allclose(spectrum.frequency_hz, F, rtol=1e-6)
    np.testing.assert_allclose(spectrum.z, Z, rtol=1e-6)


def test_biologic_txt_is_recognised_by_content(tmp_path: Path) -> None:
    spectrum = read_spectrum(write_mpt(tmp_path / "cell.txt", F, Z))
    np.testing.assert_allclose(spectrum.z, Z, rtol=1e-6)


def test_biologic_mpt_without_impedance_columns(tmp_path: Path) -> None:
    path = write_mpt(tmp_path / "cell.mpt", F, Z, im_column="Im(Z)/Ohm")
    with pytest.raises(DataError, match=r"cell\.mpt: could not be read as a BioLogic.*-Im\(Z\)/Ohm"):
        read_spectrum(path)


def test_gamry_dta(tmp_path: Path) -> None:
    lines = ["EXPLAIN", "TAG\tEISPOT", "ZCURVE\tTABLE", "\tPt\tTime\tFreq\tZreal\tZimag", "\t#\ts\tHz\tohm\tohm"]
    lines += [f"\t{i}\t{i}\t{a:.6e}\t{b.real:.6e}\t{b.imag:.6e}" for i, (a, b) in enumerate(zip(F, Z, strict=True))]
    path = tmp_path / "cell.DTA"
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")
    spectrum = read_spectrum(path)
    np.testing.assert_allclose(spectrum.z, Z, rtol=1e-6)


def test_gamry_dta_without_a_zcurve_table(tmp_path: Path) -> None:
    path = tmp_path / "cell.dta"
    path.write_text("EXPLAIN\nTAG\tCV\n", encoding="latin-1")
    with pytest.raises(DataError, match=r"cell\.dta: could not be read as a Gamry Framework file"):
        read_spectrum(path)


def test_explicit_instrument_overrides_suffix(tmp_path: Path) -> None:
    path = write_mpt(tmp_path / "cell.dat", F, Z)
    np.testing.assert_allclose(read_spectrum(path, instrument="biologic").z, Z, rtol=1e-6)


def test_unknown_text_file_asks_for_an_instrument(tmp_path: Path) -> None:
    path = tmp_path / "mystery.txt"
    path.write_text("hello\n1 2 3\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"mystery\.txt: could not tell which instrument.*instrument="):
        read_spectrum(path)


def test_unknown_instrument_name(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", F, Z)
    with pytest.raises(DataError, match="unknown instrument 'solartron'"):
        read_spectrum(path, instrument="solartron")  # type: ignore[arg-type]


def test_mpr_without_galvani_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "galvani", None)  # import fails even where galvani is installed
    path = tmp_path / "cell.mpr"
    path.write_bytes(b"BIO-LOGIC MODULAR FILE\x1a")
    with pytest.raises(DataError, match=r"cell\.mpr: .*galvani.*pip install galvani"):
        read_spectrum(path)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        read_spectrum(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="is a folder"):
        read_spectrum(tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "1000,20,-2\n100,25\n",
            r"bad\.csv: row 2: expected 3 columns \(frequency \[Hz\], Re Z \[Ω\], Im Z \[Ω\]\), found 2",
        ),
        ("1000,20,-2,7\n", r"row 1: expected 3 columns .*found 4"),
        ("f,re,im\n1000,20,-2\n100,abc,-8\n", r"row 3, column 2 \('re'\): expected a number \[Ω\], found 'abc'"),
        ("1000,20,-2\n100,25,\n", r"row 2, column 3 \('Im Z'\): expected a number \[Ω\], found an empty cell"),
        ("1000,20,-2\n100,nan,-8\n", r"row 2, column 2 \('Re Z'\): expected a finite number \[Ω\], found nan"),
        ("1000,20,-2\n100,25,inf\n", r"row 2, column 3 \('Im Z'\): expected a finite number \[Ω\], found inf"),
        ("1000,20,-2\n0,25,-8\n", r"row 2, column 1 \('frequency'\): expected a frequency > 0 Hz, found 0"),
        ("1000,20,-2\n-10,25,-8\n", r"row 2, column 1 \('frequency'\): expected a frequency > 0 Hz, found -10"),
        (
            "# comment\n1000,20,-2\n100,25,-8\n1000,21,-2\n",
            r"row 4, column 1 \('frequency'\): expected each frequency once, found 1000 Hz again \(first at row 2\)",
        ),
        ("freq,re,im\n", r"expected at least one data row"),
        ("freq,re\n1,2\n", r"row 1 \(header\): expected 3 columns"),
    ],
)
def test_bad_csv_gets_one_located_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        read_spectrum(path)


def test_non_utf8_csv(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"1000,20,-2\n\xff\xfe,1,2\n")
    with pytest.raises(DataError, match="not a UTF-8 text file"):
        read_spectrum(path)


def test_check_spectrum_on_arrays() -> None:
    spectrum = check_spectrum(F, Z)
    assert isinstance(spectrum, Spectrum)
    with pytest.raises(DataError, match="expected as many impedances as frequencies, found 4 and 5"):
        check_spectrum(F, Z[:4])
    with pytest.raises(DataError, match=r"<array>: data row 3, column 3 \('Im Z'\): expected a finite number"):
        check_spectrum(F, np.where(np.arange(5) == 2, complex(1, np.nan), Z))


def test_window_keeps_points_inside_both_bounds() -> None:
    spectrum = check_spectrum(F, Z)
    assert list(spectrum.window(1.0, 100.0).frequency_hz) == [100.0, 10.0, 1.0]
    assert len(spectrum.window(None, 10.0)) == 3
    assert len(spectrum.window()) == 5


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    points=st.lists(
        st.tuples(st.floats(min_value=1e-3, max_value=1e6, allow_nan=False), finite, finite),
        min_size=1,
        max_size=30,
        unique_by=lambda p: p[0],
    ),
    header=st.booleans(),
)
def test_csv_round_trip(tmp_path: Path, points: list[tuple[float, float, float]], header: bool) -> None:
    data = np.asarray(points)
    z = data[:, 1] + 1j * data[:, 2]
    path = write_csv(tmp_path / "round.csv", data[:, 0], z, header="f,re,im" if header else None)
    spectrum = read_spectrum(path, sign="file")  # the values as written; "auto" may flip arbitrary data
    np.testing.assert_array_equal(spectrum.frequency_hz, data[:, 0])
    np.testing.assert_array_equal(spectrum.z, z)
    auto = read_spectrum(path)
    lowest = np.argsort(data[:, 0], kind="stable")[: max(1, len(data) // 4)]  # the lowest quarter decides
    flipped = np.median(z.imag[lowest]) > 0
    np.testing.assert_array_equal(auto.z, z.conjugate() if flipped else z)
    assert auto.imag_stored == ("-Im Z" if flipped else "Im Z")


# ---------------------------------------------------------------- instrument fixtures and header variants
DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    ("name", "points", "fmin", "fmax", "stored"),
    [
        ("impedance_example.csv", 66, 0.0031623, 1e4, "Im Z"),
        ("impedance_example_biologic.mpt", 43, 0.01689554, 1000.3201, "-Im Z"),
        ("impedance_example_zplot.z", 21, 3000.0, 300000.0, "Im Z"),
        ("impedance_example_gamry.DTA", 25, 796.875, 200015.6, "Im Z"),
    ],
)
def test_impedance_py_example_files(name: str, points: int, fmin: float, fmax: float, stored: str) -> None:
    """impedance.py's own example exports (tests/eis/data/README.md) read as impedance.py reads them."""
    from impedance.preprocessing import readCSV, readFile

    spectrum = read_spectrum(DATA / name)
    assert len(spectrum) == points
    assert spectrum.frequency_hz.min() == pytest.approx(fmin)
    assert spectrum.frequency_hz.max() == pytest.approx(fmax)
    assert spectrum.imag_stored == stored
    assert spectrum.imag_basis == ("data" if name.endswith(".csv") else "instrument")
    assert not spectrum.imag_note
    instrument = {".mpt": "biologic", ".z": "zplot", ".DTA": "gamry"}.get(Path(name).suffix)
    f, z = readFile(str(DATA / name), instrument=instrument) if instrument else readCSV(str(DATA / name))
    np.testing.assert_allclose(spectrum.z, z)
    np.testing.assert_allclose(spectrum.frequency_hz, f)


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm,|Z|/Ohm,Phase(Z)/deg\n{rows5}", "-Im Z"),  # EC-Lab's names, more columns
        ("time/s\tfreq/Hz\tRe(Z)/Ohm\t-Im(Z)/Ohm\t\n{rows_tab}", "-Im Z"),  # tab-separated, trailing tab
        ("Frequency (Hz);Z' (Ohm);-Z'' (Ohm)\n{rows_semicolon}", "-Im Z"),  # decimal comma
        ("Freq [Hz],Zreal [Ohm],Zimag [Ohm]\n{rows}", "Im Z"),
        ("Z_re,Z_im,frequency_hz\n{rows_reordered}", "Im Z"),  # named columns in any order
    ],
)
def test_csv_header_variants(tmp_path: Path, text: str, stored: str) -> None:
    minus = stored == "-Im Z"
    im = [(-b.imag if minus else b.imag) for b in Z]
    fill = {
        "rows": "".join(f"{a},{b.real},{c}\n" for a, b, c in zip(F, Z, im, strict=True)),
        "rows5": "".join(f"{a},{b.real},{c},{abs(b)},0\n" for a, b, c in zip(F, Z, im, strict=True)),
        "rows_tab": "".join(f"{i}\t{a}\t{b.real}\t{c}\t\n" for i, (a, b, c) in enumerate(zip(F, Z, im, strict=True))),
        "rows_semicolon": "".join(f"{a};{b.real};{c}\n".replace(".", ",") for a, b, c in zip(F, Z, im, strict=True)),
        "rows_reordered": "".join(f"{b.real},{c},{a}\n" for a, b, c in zip(F, Z, im, strict=True)),
    }
    path = tmp_path / "variant.csv"
    path.write_text(text.format(**fill), encoding="utf-8")
    spectrum = read_spectrum(path)
    np.testing.assert_allclose(spectrum.frequency_hz, F)
    np.testing.assert_allclose(spectrum.z, Z)
    assert spectrum.imag_stored == stored
    assert spectrum.imag_basis == "header"


def test_sign_detected_from_the_data_without_a_header(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "minus.csv", F, Z.conjugate())  # −Im Z, no header to say so
    spectrum = read_spectrum(path)
    np.testing.assert_array_equal(spectrum.z, Z)
    assert (spectrum.imag_stored, spectrum.imag_basis, spectrum.imag_note) == ("-Im Z", "data", "")
    kept = read_spectrum(path, sign="file")
    np.testing.assert_array_equal(kept.z, Z.conjugate())


def test_sign_the_data_overrule_a_wrong_header(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "wrong.csv", F, Z, header="freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm")  # says −Im Z, holds Im Z
    spectrum = read_spectrum(path)
    np.testing.assert_array_equal(spectrum.z, Z)
    assert spectrum.imag_stored == "Im Z"
    assert spectrum.imag_basis == "data"
    assert "the header says the file stores -Im Z" in spectrum.imag_note


def test_sign_detection_ignores_an_inductive_tail() -> None:
    from glassline.eis import detect_imag_sign

    tail = Z.copy()
    tail[:2] = tail[:2].real + 5j  # the two highest frequencies inductive
    assert detect_imag_sign(F, tail) == 1
    assert detect_imag_sign(F, Z.conjugate()) == -1
    assert detect_imag_sign(F, Z.real.astype(complex)) == 0


def test_unknown_sign_option(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", F, Z)
    with pytest.raises(DataError, match=r"a\.csv: unknown sign 'both'; expected 'auto' or 'file'"):
        read_spectrum(path, sign="both")  # type: ignore[arg-type]


def _fake_galvani(monkeypatch: pytest.MonkeyPatch, data: object) -> None:
    """galvani's ``BioLogic.MPRfile`` replaced by one whose ``data`` is *data* (or which raises it): these
    tests check glassline's side of the .mpr reader (columns, sign, messages); parsing the binary is galvani's."""
    import types

    class MPRfile:
        def __init__(self, path: str) -> None:
            if isinstance(data, Exception):
                raise data
            self.data = data

    biologic = types.ModuleType("galvani.BioLogic")
    biologic.MPRfile = MPRfile  # type: ignore[attr-defined]
    package = types.ModuleType("galvani")
    package.BioLogic = biologic  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "galvani", package)
    monkeypatch.setitem(sys.modules, "galvani.BioLogic", biologic)


def _mpr_records(names: tuple[str, ...]) -> np.ndarray:
    records = np.zeros(len(F), dtype=[(n, "<f4") for n in names])
    columns = {"freq/Hz": F, "Re(Z)/Ohm": Z.real, "-Im(Z)/Ohm": -Z.imag, "Ewe/V": np.zeros(len(F))}
    for n in names:
        records[n] = columns[n]
    return records


def test_mpr_columns_become_a_spectrum_with_im_z_negative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_galvani(monkeypatch, _mpr_records(("freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm", "Ewe/V")))
    path = tmp_path / "cell.mpr"
    path.write_bytes(b"BIO-LOGIC MODULAR FILE\x1a")
    spectrum = read_spectrum(path)
    np.testing.assert_allclose(spectrum.frequency_hz, F.astype(np.float32), rtol=1e-7)
    np.testing.assert_allclose(spectrum.z.real, Z.real.astype(np.float32), rtol=1e-6)
    np.testing.assert_allclose(spectrum.z.imag, Z.imag.astype(np.float32), rtol=1e-6)
    assert (spectrum.z.imag < 0).all()  # capacitive: stored as −Im Z > 0, read as Im Z < 0


def test_mpr_without_impedance_columns_names_what_it_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_galvani(monkeypatch, _mpr_records(("freq/Hz", "Ewe/V")))
    path = tmp_path / "cv.mpr"
    path.write_bytes(b"BIO-LOGIC MODULAR FILE\x1a")
    with pytest.raises(DataError, match=r"cv\.mpr: expected a column 'Re\(Z\)/Ohm' in the \.mpr data, found columns"):
        read_spectrum(path)


def test_mpr_galvani_cannot_parse_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_galvani(monkeypatch, NotImplementedError("column type 4242 not implemented"))
    path = tmp_path / "new.mpr"
    path.write_bytes(b"BIO-LOGIC MODULAR FILE\x1a")
    with pytest.raises(DataError, match=r"new\.mpr: could not be read as a BioLogic EC-Lab binary file .*4242"):
        read_spectrum(path)
