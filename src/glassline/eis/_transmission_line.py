"""The blocking transmission line as a pure, vectorized function (the fit's grid search evaluates it).

Landesfeind et al., J. Electrochem. Soc. 163 (2016) A1373, Eq. 11: the impedance of a symmetric cell of
blocking porous electrodes. It is impedance.py's circuit ``R0-TLMQ0`` (tested equal to it), written out
so that a whole grid of parameters is evaluated in one numpy expression.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from glassline.exceptions import DataError

__all__ = ["transmission_line_impedance"]

ComplexOrArray: TypeAlias = complex | npt.NDArray[np.complex128]


def _checked(name: str, value: npt.ArrayLike, *, zero: bool = False, at_most_one: bool = False) -> npt.NDArray[Any]:
    """*value* as a float array, or DataError naming *name* when a non-NaN entry is not finite and > 0
    (≥ 0 with *zero*; ≤ 1 as well with *at_most_one*)."""
    function = "transmission_line_impedance"
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise DataError(
            f"The {name!r} parameter of {function} must be a number or an array of numbers. Got {value!r} instead."
        ) from error
    with np.errstate(invalid="ignore"):
        ok = (array >= 0) if zero else (array > 0)
        if at_most_one:
            ok &= array <= 1
    bad = ~(ok & np.isfinite(array)) & ~np.isnan(array)
    if np.any(bad):
        offenders = array[bad] if array.ndim else array.reshape(1)
        count = int(np.count_nonzero(bad))
        first = float(offenders[0])
        got = f"{first!r}" if count == 1 else f"{count} such values, e.g. {first!r}"
        rule = "in (0, 1]" if at_most_one else (">= 0" if zero else "> 0")
        raise DataError(f"The {name!r} parameter of {function} must be finite and {rule}. Got {got} instead.")
    return array


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
    f = _checked("frequency_hz", frequency_hz)
    r_sep = _checked("r_sep_ohm", r_sep_ohm, zero=True)
    r_ion = _checked("r_ion_ohm", r_ion_ohm)
    q_ = _checked("q", q)
    gamma_ = _checked("gamma", gamma, at_most_one=True)
    omega = 2.0 * np.pi * f
    z_q = 1.0 / (q_ * (1j * omega) ** gamma_)
    z = r_sep + np.sqrt(r_ion * z_q) * _coth(np.sqrt(r_ion / z_q))
    return complex(z) if z.ndim == 0 else z
