"""The blocking transmission line as a pure, vectorized function (the fit's grid search evaluates it).

Landesfeind et al., J. Electrochem. Soc. 163 (2016) A1373, Eq. 11: the impedance of a symmetric cell of
blocking porous electrodes. It is impedance.py's circuit ``R0-TLMQ0`` (tested equal to it), written out
so that a whole grid of parameters is evaluated in one numpy expression.
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from glassline._checks import HALF_OPEN_UNIT, NON_NEGATIVE, POSITIVE, check_array

__all__ = ["transmission_line_impedance"]

ComplexOrArray: TypeAlias = complex | npt.NDArray[np.complex128]


def _coth(x: npt.NDArray[np.complex128]) -> npt.NDArray[np.complex128]:
    """coth for complex x with Re x > 0, without overflow: (1 + e^−2x)/(1 − e^−2x)."""
    e = np.exp(-2.0 * x)
    return np.asarray((1.0 + e) / -np.expm1(-2.0 * x), dtype=np.complex128)


def transmission_line_impedance(
    frequency_hz: npt.ArrayLike,
    r_sep_ohm: npt.ArrayLike,
    r_ion_ohm: npt.ArrayLike,
    q: npt.ArrayLike,
    gamma: npt.ArrayLike,
) -> ComplexOrArray:
    """Impedance of a symmetric cell of blocking porous electrodes (Landesfeind et al. 2016, Eq. 11).

    Z = R_sep + sqrt(R_ion·Z_q)·coth(sqrt(R_ion/Z_q)),  Z_q = 1/(Q·(jω)^γ),  ω = 2π·f.

    *r_sep_ohm* is the high-frequency (separator and contact) resistance, *r_ion_ohm* the ionic
    resistance R_ion, *q* the constant-phase element's Q in F·s^(γ−1) and *gamma* its exponent
    γ in (0, 1]. This is impedance.py's circuit ``R0-TLMQ0`` with parameters [R_sep, R_ion, Q, γ].
    For γ = 1 the real part tends to R_sep + R_ion/3 as f → 0. coth is evaluated as
    (1 + e^−2x)/(−expm1(−2x)), which neither overflows at high frequency nor loses digits at low.
    Arguments broadcast against each other; a complex number comes back for scalar input.
    Infinite or out-of-range input raises :class:`~glassline.exceptions.DataError`.
    """
    function = "transmission_line_impedance"
    f = check_array(function, "frequency_hz", frequency_hz, POSITIVE)
    r_sep = check_array(function, "r_sep_ohm", r_sep_ohm, NON_NEGATIVE)
    r_ion = check_array(function, "r_ion_ohm", r_ion_ohm, POSITIVE)
    q_ = check_array(function, "q", q, POSITIVE)
    gamma_ = check_array(function, "gamma", gamma, HALF_OPEN_UNIT)
    omega = 2.0 * np.pi * f
    z_q = 1.0 / (q_ * (1j * omega) ** gamma_)
    z = r_sep + np.sqrt(r_ion * z_q) * _coth(np.sqrt(r_ion / z_q))
    return complex(z) if z.ndim == 0 else z
