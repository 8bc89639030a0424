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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt

from glassline.exceptions import DataError

__all__ = ["INSTRUMENTS", "SPECTRUM_SUFFIXES", "Instrument", "Spectrum", "check_spectrum", "read_spectrum"]

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
        return Spectrum(self.frequency_hz[keep], self.z[keep], self.source)


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


def read_spectrum(path: str | Path, *, instrument: Instrument | None = None) -> Spectrum:
    """Read one impedance spectrum from *path*.

    The layout follows the suffix (:data:`SPECTRUM_SUFFIXES`); ``.txt`` and unknown suffixes are
    recognised by their content, and ``instrument`` overrides both. Plain CSV: three comma-separated
    columns frequency [Hz], Re Z [Ω], Im Z [Ω], optionally one header row (a header naming the third
    column ``-Im…`` means the file stores −Im Z, which is converted) and ``#`` comment lines (as
    impedance.py's ``saveCSV`` writes). Raises :class:`DataError` naming the file, row, column, what
    was expected and what was found.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder; expected an impedance file ({', '.join(SPECTRUM_SUFFIXES)})")
    if instrument is not None and instrument not in INSTRUMENTS:
        raise DataError(f"{path}: unknown instrument {instrument!r}; expected one of {', '.join(INSTRUMENTS)}")
    layout = instrument or SPECTRUM_SUFFIXES.get(path.suffix.lower()) or _sniff(path)
    if layout == "csv":
        return _read_csv(path)
    if layout == "biologic-mpr":
        return _read_mpr(path)
    return _read_with_impedance(path, layout)


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


def _read_csv(path: Path) -> Spectrum:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise DataError(f"{path}: could not be read: {exc.strerror or exc}") from None
    columns = list(_CSV_COLUMNS)
    flip_imaginary = False
    seen_first = False
    rows: list[int] = []
    values: list[tuple[float, float, float]] = []
    for line_number, cells in enumerate(csv.reader(text.splitlines()), start=1):
        if not cells or all(not c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
            continue
        cells = [c.strip() for c in cells]
        if not seen_first:
            seen_first = True
            if not any(_is_number(c) for c in cells):  # a header row
                if len(cells) != 3:
                    raise DataError(
                        f"{path}: row {line_number} (header): expected 3 columns ({_csv_layout()}), "
                        f"found {len(cells)}: {cells}"
                    )
                columns = cells
                flip_imaginary = cells[2].startswith("-")
                continue
        if len(cells) != 3:
            raise DataError(
                f"{path}: row {line_number}: expected 3 columns ({_csv_layout()}), found {len(cells)}: {cells}"
            )
        numbers = []
        for column, cell in enumerate(cells):
            if not cell:
                raise DataError(
                    f"{path}: row {line_number}, column {column + 1} ({columns[column]!r}): "
                    f"expected a number [{_CSV_UNITS[column]}], found an empty cell"
                )
            if not _is_number(cell):
                raise DataError(
                    f"{path}: row {line_number}, column {column + 1} ({columns[column]!r}): "
                    f"expected a number [{_CSV_UNITS[column]}], found {cell!r}"
                )
            numbers.append(float(cell))
        rows.append(line_number)
        values.append((numbers[0], numbers[1], numbers[2]))
    if not values:
        raise DataError(f"{path}: expected at least one data row ({_csv_layout()}), found none")
    data = np.asarray(values, dtype=float)
    z = data[:, 1].astype(complex)
    z.imag = -data[:, 2] if flip_imaginary else data[:, 2]  # not re + 1j·im: 1j·inf would make a NaN real part
    return check_spectrum(data[:, 0], z, source=str(path), rows=rows, columns=columns)


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
