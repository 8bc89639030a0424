"""Impedance spectra: readers, the blocking transmission-line fit (impedance.py) and R_ion in batch.

>>> from glassline.eis import read_spectrum, fit_spectrum
>>> spectrum = read_spectrum("cell_01.csv")                                 # doctest: +SKIP
>>> fit = fit_spectrum(spectrum.frequency_hz, spectrum.z, fmin=0.1, fmax=1e3)  # doctest: +SKIP
>>> fit.r_ion, fit.flag                                                     # doctest: +SKIP

:func:`fit_folder` fits a file or a folder over worker processes and returns one row per spectrum
(the table behind ``glassline eis fit``); :func:`plot_nyquist` draws a spectrum with its fit;
:func:`transmission_line_impedance` is the fitted circuit as a vectorized function.
"""

from glassline.eis._batch import INDEX_FILE, fit_folder, read_index, spectrum_files
from glassline.eis._fit import (
    CIRCUIT,
    GAMMA_BOUNDS,
    PARAMETER_UNITS,
    CircuitFit,
    EISFit,
    ReportChoice,
    fit_spectrum,
    initial_guess,
    predict_impedance,
)
from glassline.eis._plot import plot_nyquist
from glassline.eis._readers import (
    INSTRUMENTS,
    SPECTRUM_SUFFIXES,
    Instrument,
    Spectrum,
    check_spectrum,
    read_spectrum,
)
from glassline.eis._simulate import CONTACT_CIRCUIT, frequency_sweep, simulate_spectrum
from glassline.eis._transmission_line import transmission_line_impedance

__all__ = [
    "CIRCUIT",
    "CONTACT_CIRCUIT",
    "GAMMA_BOUNDS",
    "INDEX_FILE",
    "INSTRUMENTS",
    "PARAMETER_UNITS",
    "SPECTRUM_SUFFIXES",
    "CircuitFit",
    "EISFit",
    "Instrument",
    "ReportChoice",
    "Spectrum",
    "check_spectrum",
    "fit_folder",
    "fit_spectrum",
    "frequency_sweep",
    "initial_guess",
    "plot_nyquist",
    "predict_impedance",
    "read_index",
    "read_spectrum",
    "simulate_spectrum",
    "spectrum_files",
    "transmission_line_impedance",
]
