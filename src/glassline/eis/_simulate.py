"""Spectra with known parameters, for tests, benchmarks and the simulated line.

Impedances come from impedance.py's own circuits (``R0-TLMQ0``, and ``R0-p(R1,CPE1)-TLMQ0`` when a
contact arc is added), so what the fit recovers is checked against the library that fits it.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from impedance.models.circuits import CustomCircuit

from glassline.eis._fit import CIRCUIT
from glassline.exceptions import DataError

__all__ = ["CONTACT_CIRCUIT", "frequency_sweep", "simulate_spectrum"]

CONTACT_CIRCUIT = "R0-p(R1,CPE1)-TLMQ0"
"""R_sep, a contact arc (R_c in parallel with a CPE), and the blocking transmission line."""


def frequency_sweep(fmax_hz: float, fmin_hz: float, points_per_decade: float) -> npt.NDArray[np.float64]:
    """Log-spaced frequencies from *fmax_hz* down to *fmin_hz* [Hz], as a potentiostat sweeps them.

    Both ends are included: 10 kHz to 100 mHz at 10 points per decade (the electrode paper's
    protocol) gives 51 frequencies.
    """
    if not (0 < fmin_hz < fmax_hz) or points_per_decade <= 0:
        raise DataError(
            f"frequency_sweep: expected 0 < fmin_hz < fmax_hz and points_per_decade > 0, "
            f"got fmin_hz={fmin_hz!r}, fmax_hz={fmax_hz!r}, points_per_decade={points_per_decade!r}"
        )
    decades = math.log10(fmax_hz / fmin_hz)
    n = round(decades * points_per_decade) + 1
    return np.asarray(np.logspace(math.log10(fmax_hz), math.log10(fmin_hz), n), dtype=float)


def simulate_spectrum(
    frequency_hz: npt.ArrayLike,
    *,
    r_sep: float,
    r_ion: float,
    q: float,
    gamma: float,
    contact_ohm: float = 0.0,
    contact_peak_hz: float = 2e4,
    contact_alpha: float = 0.9,
    noise: float = 0.0,
    rng: np.random.Generator | int | None = None,
) -> npt.NDArray[np.complex128]:
    """Impedance [Ω] of R_sep + blocking TLM (R_ion [Ω], Q [F·s^(γ−1)], γ), optionally with noise.

    ``contact_ohm > 0`` adds a contact arc in series: R_c in parallel with a constant-phase element
    whose exponent is ``contact_alpha`` and whose Q puts the arc's apex at ``contact_peak_hz``
    (Q_c = 1/(R_c·(2π·f_peak)^α)); an arc like this appears at high frequency on uncalendered
    electrodes. ``noise`` is the standard deviation of independent Gaussian errors on Re Z and Im Z
    relative to |Z| (0.005 = 0.5 %, i.e. Z·(1 + noise·(ε₁ + jε₂))); ``rng`` is a generator or a seed.
    """
    f = np.asarray(frequency_hz, dtype=float)
    if min(r_sep, r_ion, q) <= 0 or not 0 < gamma <= 1 or contact_ohm < 0 or noise < 0:
        raise DataError(
            "simulate_spectrum: expected r_sep, r_ion, q > 0, 0 < gamma ≤ 1, contact_ohm ≥ 0 and noise ≥ 0, got "
            f"r_sep={r_sep!r}, r_ion={r_ion!r}, q={q!r}, gamma={gamma!r}, contact_ohm={contact_ohm!r}, noise={noise!r}"
        )
    if contact_ohm > 0:
        contact_q = 1.0 / (contact_ohm * (2 * np.pi * contact_peak_hz) ** contact_alpha)
        circuit, values = CONTACT_CIRCUIT, [r_sep, contact_ohm, contact_q, contact_alpha, r_ion, q, gamma]
    else:
        circuit, values = CIRCUIT, [r_sep, r_ion, q, gamma]
    model = CustomCircuit(circuit, initial_guess=[float(v) for v in values])
    model.parameters_ = np.asarray(values, dtype=float)  # predict from these values without a warning
    z = np.asarray(model.predict(f), dtype=complex)
    if noise > 0:
        generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        z = z * (1.0 + noise * (generator.standard_normal(f.size) + 1j * generator.standard_normal(f.size)))
    return z
