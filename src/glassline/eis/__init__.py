"""Impedance spectra: readers, the blocking transmission-line fit (impedance.py) and R_ion in batch.

>>> from glassline.eis import read_spectrum, fit_spectrum
>>> spectrum = read_spectrum("cell_01.csv")                                 # doctest: +SKIP
>>> fit = fit_spectrum(spectrum.frequency_hz, spectrum.z, fmin=0.1, fmax=1e3)  # doctest: +SKIP
>>> fit.r_ion, fit.flag                                                     # doctest: +SKIP
>>> fit.fmin_hz, fit.fmax_hz, fit.n_inductive, fit.n_non_kk, fit.kk_noise  # the window and Lin-KK  # doctest: +SKIP
>>> fit.points()            # per point: Lin-KK residuals, failed, fitted or why not   # doctest: +SKIP

Each spectrum is checked with Lin-KK (:func:`lin_kk`) and fitted on an automatic window
(:func:`frequency_window`: no inductive tail, no non-KK points); the flags (:data:`FLAG_LIMITS`) say why
a fit is not trusted. :func:`simulate_real_looking` makes good and deliberately bad test spectra.

:func:`fit_folder` fits a file or a folder over worker processes and returns one row per spectrum
(the table behind ``glassline eis fit``); :func:`plot_nyquist` draws a spectrum with its fit;
:func:`transmission_line_impedance` is the fitted circuit as a vectorized function.
"""

from glassline.eis._batch import INDEX_FILE, fit_folder, read_index, spectrum_files
from glassline.eis._fit import (
    CIRCUIT,
    FLAG_LIMITS,
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
    ImagSign,
    Instrument,
    Spectrum,
    check_spectrum,
    detect_imag_sign,
    read_spectrum,
)
from glassline.eis._simulate import (
    ARTEFACTS,
    CONTACT_CIRCUIT,
    Artefact,
    frequency_sweep,
    simulate_real_looking,
    simulate_spectrum,
)
from glassline.eis._transmission_line import transmission_line_impedance
from glassline.eis._validity import KKCheck, Window, frequency_window, lin_kk

__all__ = [
    "ARTEFACTS",
    "CIRCUIT",
    "CONTACT_CIRCUIT",
    "FLAG_LIMITS",
    "GAMMA_BOUNDS",
    "INDEX_FILE",
    "INSTRUMENTS",
    "PARAMETER_UNITS",
    "SPECTRUM_SUFFIXES",
    "Artefact",
    "CircuitFit",
    "EISFit",
    "ImagSign",
    "Instrument",
    "KKCheck",
    "ReportChoice",
    "Spectrum",
    "Window",
    "check_spectrum",
    "detect_imag_sign",
    "fit_folder",
    "fit_spectrum",
    "frequency_sweep",
    "frequency_window",
    "initial_guess",
    "lin_kk",
    "plot_nyquist",
    "predict_impedance",
    "read_index",
    "read_spectrum",
    "simulate_real_looking",
    "simulate_spectrum",
    "spectrum_files",
    "transmission_line_impedance",
]
