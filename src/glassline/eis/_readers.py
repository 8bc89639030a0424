"""Read impedance spectra from files, and check them, with errors that say where.

Instrument exports (BioLogic .mpt, Gamry .DTA, ZPlot .z, VersaStudio .PAR, Autolab, Parstat,
PowerSuite, CH Instruments) are parsed by impedance.py's own readers
(:func:`impedance.preprocessing.readFile`); BioLogic's binary .mpr goes through galvani, an optional
extra because it is GPL-licensed. Plain CSV files (frequency, Re Z, Im Z; impedance.py's layout, with
or without a header row) are parsed here: impedance.py's ``readCSV`` uses ``numpy.genfromtxt``, which
turns a header row or a bad cell into NaN without saying where, and every bad file must get one error
naming the file, row, column, what was expected and what was found.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt

from glassline.exceptions import DataError

__all__ = [
    "INSTRUMENTS",
    "SPECTRUM_SUFFIXES",
    "ImagSign",
    "Instrument",
    "Spectrum",
    "check_spectrum",
    "detect_imag_sign",
    "read_spectrum",
]

ImagSign = Literal["auto", "file"]
"""How :func:`read_spectrum` settles the sign of the imaginary column: "auto" from the data (a blocking or
any passive electrode is capacitive, Im Z < 0, at its low frequencies), "file" as the header or the
instrument's convention says."""

Instrument = Literal[
    "csv",
    "biologic",
    "biologic-mpr",
    "gamry",
    "zplot",
    "versastudio",
    "autolab",
    "parstat",
    "powersuite",
    "chinstruments",
]
"""The file layouts :func:`read_spectrum` understands ("csv": plain frequency, Re Z, Im Z)."""

INSTRUMENTS: tuple[str, ...] = get_args(Instrument)

#: File suffix (lower case) → layout; ``.txt`` files are recognised by their content.
SPECTRUM_SUFFIXES: dict[str, Instrument | None] = {
    ".csv": "csv",
    ".mpt": "biologic",
    ".mpr": "biologic-mpr",
    ".dta": "gamry",
    ".z": "zplot",
    ".par": "versastudio",
    ".txt": None,
}

_DESCRIPTION: dict[str, str] = {
    "csv": "plain CSV with three columns: frequency [Hz], Re Z [Ω], Im Z [Ω]",
    "biologic": "BioLogic EC-Lab text export (.mpt) with columns freq/Hz, Re(Z)/Ohm, -Im(Z)/Ohm",
    "biologic-mpr": "BioLogic EC-Lab binary file (.mpr) with columns freq/Hz, Re(Z)/Ohm, -Im(Z)/Ohm",
    "gamry": "Gamry Framework file (.DTA) with a ZCURVE table",
    "zplot": "Scribner ZPlot file (.z)",
    "versastudio": "VersaStudio file (.PAR)",
    "autolab": "Autolab comma-separated export",
    "parstat": "Parstat text export",
    "powersuite": "PowerSuite text export",
    "chinstruments": "CH Instruments text export",
}
_CSV_COLUMNS = ("frequency", "Re Z", "Im Z")
_CSV_UNITS = ("Hz", "Ω", "Ω")


@dataclass(frozen=True, eq=False)
class Spectrum:
    """One impedance spectrum: frequencies [Hz] and complex impedances Z = Re Z + j·Im Z [Ω].

    Im Z is negative for a capacitive response (impedance.py's convention; BioLogic files store −Im Z
    and are converted on reading). ``source`` names where the data came from, for messages and plots.
    """

    frequency_hz: npt.NDArray[np.float64]
    z: npt.NDArray[np.complex128]
    source: str = "<array>"
    imag_stored: str = "Im Z"
    """What the file's imaginary column holds: "Im Z" (Z″, negative when capacitive) or "-Im Z" (−Z″)."""
    imag_basis: str = "assumed"
    """How ``imag_stored`` was settled: "header", "instrument", "data" (no header said; or the data
    overruled it, see ``imag_note``) or "assumed" (arrays, not a file)."""
    imag_note: str = ""
    """Non-empty when the data contradict the header or the instrument's convention, saying so."""

    def __len__(self) -> int:
        return int(self.frequency_hz.size)

    def window(self, fmin_hz: float | None = None, fmax_hz: float | None = None) -> Spectrum:
        """The points with ``fmin_hz ≤ f ≤ fmax_hz`` (either bound may be None: open).

        The bounds carry a relative slack of 1e-9, so a sweep's 999.9999999998 Hz counts as 1 kHz.
        """
        keep = np.ones(self.frequency_hz.shape, dtype=bool)
        if fmin_hz is not None:
            keep &= self.frequency_hz >= fmin_hz * (1.0 - 1e-9)
        if fmax_hz is not None:
            keep &= self.frequency_hz <= fmax_hz * (1.0 + 1e-9)
        return Spectrum(
            self.frequency_hz[keep], self.z[keep], self.source, self.imag_stored, self.imag_basis, self.imag_note
        )


def check_spectrum(
    frequency_hz: npt.ArrayLike,
    z: npt.ArrayLike,
    *,
    source: str = "<array>",
    rows: Sequence[int] | None = None,
    columns: Sequence[str] = _CSV_COLUMNS,
) -> Spectrum:
    """Return a validated :class:`Spectrum`, or raise one :class:`DataError` for the first bad value.

    Checks: equal lengths, at least one point, finite numbers, frequencies > 0 and no frequency twice.
    ``rows`` gives the row number a person sees for each point (a line of the file); without it the
    message counts data rows from 1. ``columns`` names the frequency, Re Z and Im Z columns.
    """
    f = np.asarray(frequency_hz, dtype=float).ravel()
    zc = np.asarray(z, dtype=complex).ravel()
    if f.size != zc.size:
        raise DataError(f"{source}: expected as many impedances as frequencies, found {zc.size} and {f.size}")
    if f.size == 0:
        raise DataError(f"{source}: expected at least one data row (frequency, Re Z, Im Z), found none")

    def where(i: int, column: int) -> str:
        row = f"row {rows[i]}" if rows is not None else f"data row {i + 1}"
        return f"{source}: {row}, column {column + 1} ({columns[column]!r})"

    for column, values in enumerate((f, zc.real, zc.imag)):
        bad = ~np.isfinite(values)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(f"{where(i, column)}: expected a finite number [{_CSV_UNITS[column]}], found {values[i]}")
    if (f <= 0).any():
        i = int(np.flatnonzero(f <= 0)[0])
        raise DataError(f"{where(i, 0)}: expected a frequency > 0 Hz, found {f[i]:g}")
    order = np.argsort(f, kind="stable")
    repeated = np.flatnonzero(np.diff(f[order]) == 0)
    if repeated.size:
        first, second = sorted((int(order[repeated[0]]), int(order[repeated[0] + 1])))
        seen = f"row {rows[first]}" if rows is not None else f"data row {first + 1}"
        raise DataError(
            f"{where(second, 0)}: expected each frequency once, found {f[second]:g} Hz again (first at {seen})"
        )
    return Spectrum(f, zc, source)


def detect_imag_sign(frequency_hz: npt.ArrayLike, z: npt.ArrayLike) -> int:
    """+1 when Im Z looks capacitive (negative) at the low frequencies, −1 when it looks flipped, 0 undecided.

    Uses the lowest quarter of the frequencies (at least one point): the sign of the median Im Z there.
    An inductive tail lies at the top of the sweep, an inductive loop in the middle (even one centred a
    decade above the lowest frequency leaves it capacitive: its reactance falls as f there while the
    capacitive branch grows as 1/f); a blocking electrode's capacitive branch, and any electrode's
    double-layer capacitance, dominates the lowest frequencies.
    """
    f = np.asarray(frequency_hz, dtype=float)
    imag = np.asarray(z, dtype=complex).imag
    if f.size == 0:
        return 0
    lowest = np.argsort(f, kind="stable")[: max(1, f.size // 4)]
    middle = float(np.median(imag[lowest]))
    return 1 if middle < 0 else -1 if middle > 0 else 0


def _orient(spectrum: Spectrum, declared: str, basis: str, sign: ImagSign) -> Spectrum:
    """Settle the imaginary sign: keep the declared convention, or flip it when the data say so."""
    if sign == "file" or detect_imag_sign(spectrum.frequency_hz, spectrum.z) >= 0:
        return Spectrum(spectrum.frequency_hz, spectrum.z, spectrum.source, declared, basis)
    stored = "Im Z" if declared == "-Im Z" else "-Im Z"
    note = ""
    if basis in ("header", "instrument"):
        said = "the header" if basis == "header" else "the instrument's convention"
        note = (
            f"{said} says the file stores {declared}, but Im Z would then be positive at the low frequencies, "
            f"so it was read as {stored}"
        )
    return Spectrum(spectrum.frequency_hz, spectrum.z.conjugate(), spectrum.source, stored, "data", note)


def read_spectrum(path: str | Path, *, instrument: Instrument | None = None, sign: ImagSign = "auto") -> Spectrum:
    """Read one impedance spectrum from *path*.

    The layout follows the suffix (:data:`SPECTRUM_SUFFIXES`); ``.txt`` and unknown suffixes are
    recognised by their content, and ``instrument`` overrides both. Plain CSV: three comma-separated
    columns frequency [Hz], Re Z [Ω], Im Z [Ω], optionally one header row (a header naming the third
    column ``-Im…`` means the file stores −Im Z, which is converted) and ``#`` comment lines (as
    impedance.py's ``saveCSV`` writes). Raises :class:`DataError` naming the file, row, column, what
    was expected and what was found.

    The sign of the imaginary column (``sign``, :data:`ImagSign`): by default it is read from the data
    (:func:`detect_imag_sign`) and the result says what the file held (``imag_stored``), how that was
    settled (``imag_basis``) and, when the data contradict the header or the instrument's convention,
    why (``imag_note``); ``sign="file"`` trusts the header (``-Im…``/``-Z''`` means −Im Z) or the
    instrument (BioLogic stores −Im Z; Gamry, ZPlot and the others Im Z).
    """
    path = Path(path)
    if sign not in ("auto", "file"):
        raise DataError(f"{path}: unknown sign {sign!r}; expected 'auto' or 'file'")
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder; expected an impedance file ({', '.join(SPECTRUM_SUFFIXES)})")
    if instrument is not None and instrument not in INSTRUMENTS:
        raise DataError(f"{path}: unknown instrument {instrument!r}; expected one of {', '.join(INSTRUMENTS)}")
    layout = instrument or SPECTRUM_SUFFIXES.get(path.suffix.lower()) or _sniff(path)
    if layout == "csv":
        spectrum, declared, basis = _read_csv(path)
        return _orient(spectrum, declared, basis, sign)
    if layout == "biologic-mpr":
        return _orient(_read_mpr(path), "-Im Z", "instrument", sign)
    declared = "-Im Z" if layout == "biologic" else "Im Z"  # impedance.py's readers undo BioLogic's −Im Z
    return _orient(_read_with_impedance(path, layout), declared, "instrument", sign)


def _sniff(path: Path) -> Instrument:
    """Tell the instrument from the first lines of a text file."""
    try:
        with path.open(encoding="latin-1") as handle:
            head = [line for _, line in zip(range(200), handle, strict=False)]
    except OSError as exc:
        raise DataError(f"{path}: could not be read: {exc}") from None
    text = "".join(head)
    if head and head[0].startswith("EC-Lab ASCII FILE"):
        return "biologic"
    if "ZCURVE" in text:
        return "gamry"
    if any(line.startswith("Freq/Hz") for line in head):
        return "chinstruments"
    if "End Comments" in text or "Freq(Hz)" in text:
        return "zplot"
    raise DataError(
        f"{path}: could not tell which instrument wrote this file; expected a suffix among "
        f"{', '.join(SPECTRUM_SUFFIXES)} or a recognisable header; pass instrument= one of {', '.join(INSTRUMENTS)}"
    )


def _read_csv(path: Path) -> tuple[Spectrum, str, str]:
    """The spectrum (Im Z as declared), what the header declared ("Im Z"/"-Im Z") and the basis."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise DataError(f"{path}: could not be read: {exc.strerror or exc}") from None
    lines = text.splitlines()
    delimiter = _delimiter(lines)
    decimal_comma = delimiter in (";", "\t")
    columns = list(_CSV_COLUMNS)
    picks = (0, 1, 2)
    width = 3
    flip_imaginary = False
    basis = "data"
    seen_first = False
    rows: list[int] = []
    values: list[tuple[float, float, float]] = []
    for line_number, cells in enumerate(csv.reader(lines, delimiter=delimiter), start=1):
        if not cells or all(not c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
            continue
        cells = [c.strip() for c in cells]
        if delimiter != "," and cells[-1] == "":  # a trailing tab or semicolon
            cells = cells[:-1]
        if decimal_comma:
            cells = [c.replace(",", ".") for c in cells]
        if not seen_first:
            seen_first = True
            if not any(_is_number(c) for c in cells):  # a header row
                picks, flip_imaginary = _header_columns(path, line_number, cells)
                width = len(cells)
                columns = [cells[i] for i in picks]
                basis = "header"
                continue
        if len(cells) != width:
            expected = f"{width} columns as in the header" if width != 3 else f"3 columns ({_csv_layout()})"
            raise DataError(f"{path}: row {line_number}: expected {expected}, found {len(cells)}: {cells}")
        numbers = []
        for column, index in enumerate(picks):
            cell = cells[index]
            where = f"{path}: row {line_number}, column {index + 1} ({columns[column]!r})"
            if not cell:
                raise DataError(f"{where}: expected a number [{_CSV_UNITS[column]}], found an empty cell")
            if not _is_number(cell):
                raise DataError(f"{where}: expected a number [{_CSV_UNITS[column]}], found {cell!r}")
            numbers.append(float(cell))
        rows.append(line_number)
        values.append((numbers[0], numbers[1], numbers[2]))
    if not values:
        raise DataError(f"{path}: expected at least one data row ({_csv_layout()}), found none")
    data = np.asarray(values, dtype=float)
    z = data[:, 1].astype(complex)
    z.imag = -data[:, 2] if flip_imaginary else data[:, 2]  # not re + 1j·im: 1j·inf would make a NaN real part
    spectrum = check_spectrum(data[:, 0], z, source=str(path), rows=rows, columns=columns)
    return spectrum, "-Im Z" if flip_imaginary else "Im Z", basis


def _delimiter(lines: list[str]) -> str:
    """Comma, semicolon or tab: whichever splits the first non-comment line into the most cells."""
    for line in lines:
        if line.strip() and not line.lstrip().startswith("#"):
            counts = {d: line.count(d) for d in (",", ";", "\t")}
            best = max(counts, key=lambda d: counts[d])
            if counts[best] and (best == "," or counts[best] >= 2 or counts[","] == 0):
                return best
            return ","
    return ","


def _header_columns(path: Path, line_number: int, cells: list[str]) -> tuple[tuple[int, int, int], bool]:
    """Which header cells are frequency, Re Z and Im Z, and whether the imaginary one holds −Im Z."""
    found: dict[str, int] = {}
    negative = False
    for i, cell in enumerate(cells):
        kind, minus = _column_kind(cell)
        if kind and kind not in found:
            found[kind] = i
            if kind == "imag":
                negative = minus
    if len(found) == 3:
        return (found["freq"], found["real"], found["imag"]), negative
    if len(cells) == 3:  # unrecognised names: impedance.py's positional layout
        return (0, 1, 2), cells[2].lstrip().startswith("-")
    missing = [name for key, name in zip(("freq", "real", "imag"), _CSV_COLUMNS, strict=True) if key not in found]
    raise DataError(
        f"{path}: row {line_number} (header): expected 3 columns ({_csv_layout()}) or named columns such as "
        f"freq/Hz, Re(Z)/Ohm, -Im(Z)/Ohm; found {len(cells)} columns {cells} and no {' or '.join(missing)} among them"
    )


_UNIT_SUFFIX = re.compile(r"\s*(?:/\s*|\[\s*|\(\s*)(?:hz|ohm|ω|Ω|kohm|mohm)\s*[\])]?\s*$")
_IMAG_NAMES = ("z''", "zimag", "zim", "imz", "im(z)", "imag", "imaginary", "im")
_REAL_NAMES = ("z'", "zreal", "zre", "rez", "re(z)", "real", "re")


def _column_kind(cell: str) -> tuple[str, bool]:
    """("freq" | "real" | "imag" | "", whether the name starts with a minus) for a header cell.

    Recognises e.g. ``freq/Hz``, ``Frequency (Hz)``, ``f``, ``Re(Z)/Ohm``, ``Z' [Ohm]``, ``Zreal``,
    ``z_re``, ``-Im(Z)/Ohm``, ``-Z''``, ``Z″``, ``Zimag``, ``im_z_ohm``.
    """
    name = _UNIT_SUFFIX.sub("", cell.strip().lower())
    name = name.replace("\u2033", "''").replace("\u2032", "'").replace('"', "''").replace("\u2212", "-")
    name = re.sub(r"[\s_]", "", name)
    minus = name.startswith("-")
    name = name.lstrip("-")
    for suffix in ("ohm", "hz"):  # im_z_ohm, frequency_hz
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
    if name in ("f", "freq", "frequency") or name.startswith("freq"):
        return "freq", False
    if name in _IMAG_NAMES:
        return "imag", minus
    if name in _REAL_NAMES:
        return "real", False
    return "", False


def _csv_layout() -> str:
    return ", ".join(f"{name} [{unit}]" for name, unit in zip(_CSV_COLUMNS, _CSV_UNITS, strict=True))


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _read_with_impedance(path: Path, instrument: str) -> Spectrum:
    from impedance.preprocessing import readFile

    try:
        f, z = readFile(str(path), instrument=instrument)
    except (AssertionError, ValueError, IndexError, KeyError, NameError, TypeError, OSError) as exc:
        detail = str(exc) or type(exc).__name__
        raise DataError(
            f"{path}: could not be read as a {_DESCRIPTION[instrument]} (impedance.py's reader said: {detail})"
        ) from None
    return check_spectrum(f, z, source=str(path), columns=("frequency", "Re Z", "Im Z"))


def _read_mpr(path: Path) -> Spectrum:
    try:
        from galvani import BioLogic
    except ImportError:
        raise DataError(
            f"{path}: reading BioLogic .mpr files needs the optional package galvani (GPL-3.0 licensed, so "
            "not installed with glassline): pip install galvani — or export the file as .mpt text from EC-Lab"
        ) from None
    try:
        data = BioLogic.MPRfile(str(path)).data
    except Exception as exc:  # galvani raises bare ValueError/NotImplementedError/struct.error on foreign files
        raise DataError(f"{path}: could not be read as a {_DESCRIPTION['biologic-mpr']}: {exc}") from None
    names = data.dtype.names or ()
    needed = ("freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm")
    for name in needed:
        if name not in names:
            raise DataError(f"{path}: expected a column {name!r} in the .mpr data, found columns {list(names)}")
    f = np.asarray(data["freq/Hz"], dtype=float)
    z = np.asarray(data["Re(Z)/Ohm"], dtype=float).astype(complex)
    z.imag = -np.asarray(data["-Im(Z)/Ohm"], dtype=float)
    return check_spectrum(f, z, source=str(path), columns=needed)
