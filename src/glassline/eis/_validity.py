"""Before a fit: Lin-KK validity per point, and the frequency window that keeps the trustworthy points.

Lin-KK (Schönleber et al., Electrochim. Acta 131 (2014) 20) fits a Kramers–Kronig-compliant circuit,
R_0 + jωL + 1/(jωC) + M RC elements with fixed, log-spaced time constants, linearly to Z/|Z|, so its
residuals (relative to |Z|) are what no causal, linear, stable system explains: noise, drift, a
system changing during the sweep. The fit itself is impedance.py's (:func:`impedance.validation.fit_linKK`,
complex fit, with the series capacitance a blocking electrode needs). Two changes to
:func:`impedance.validation.linKK`, both measured on the real-looking set of
:func:`~glassline.eis.simulate_real_looking`:

- the μ criterion (stop at the first M with μ ≤ 0.85) is searched from M = 1.5 per decade upwards,
  not from M = 1: under 0.2–1 % noise μ fell below 0.85 by chance at M = 5–6 on 1 of 8 good spectra,
  an underfit with 4 % residuals that would have marked good points;
- the residuals are evaluated in closed form: impedance.py 1.7's ``eval_linKK`` builds a Python
  expression from ``repr`` of numpy scalars, which fails (NameError 'np') under numpy ≥ 2.

A point fails Lin-KK when max(|res_re|, |res_im|) exceeds max(4·σ̂, 1 %), with σ̂ = 1.4826·median|res|,
a robust estimate of the noise over all residuals: a point 4 robust standard deviations out is not
noise (Gaussian odds about 1 in 16,000 per value), and below 1 % of |Z| a deviation is within what an
instrument's accuracy specification allows anyway.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "INDUCTIVE_SHARE",
    "KK_C",
    "KK_FAIL_FLOOR",
    "KK_FAIL_SIGMAS",
    "KK_MAX_M",
    "KK_M_PER_DECADE",
    "KKCheck",
    "Window",
    "frequency_window",
    "lin_kk",
]

KK_C = 0.85
"""Schönleber's cut-off for μ (impedance.py's default)."""
KK_MAX_M = 50
KK_M_PER_DECADE = 2.5
KK_FAIL_SIGMAS = 4.0
"""A point fails Lin-KK beyond this many robust standard deviations of the residuals …"""
KK_FAIL_FLOOR = 0.01
"""… and beyond 1 % of |Z| (whichever is larger)."""
INDUCTIVE_SHARE = 0.1
"""Below the inductive tail, points are dropped while the cable inductance estimated from the tail
(ωL̂) is more than this share of |Im Z|: there the inductance, absent from the fitted circuit, would bias
the fit by more than a tenth of the quantity it fits."""


@dataclass(frozen=True, eq=False)
class KKCheck:
    """Lin-KK result for one spectrum (arrays in the spectrum's order).

    ``residual_real``/``residual_imag`` are (Z − Ẑ_KK)/|Z| per point; ``failed`` marks the points beyond
    ``threshold``; ``noise`` is the root-mean-square residual per component, corrected for the
    degrees of freedom the Lin-KK circuit used (an estimate of the noise relative to |Z|).
    """

    m: int
    mu: float
    residual_real: npt.NDArray[np.float64]
    residual_imag: npt.NDArray[np.float64]
    failed: npt.NDArray[np.bool_]
    threshold: float
    noise: float

    @property
    def max_real(self) -> float:
        return float(np.max(np.abs(self.residual_real))) if self.residual_real.size else math.nan

    @property
    def max_imag(self) -> float:
        return float(np.max(np.abs(self.residual_imag))) if self.residual_imag.size else math.nan


def lin_kk(frequency_hz: npt.ArrayLike, z: npt.ArrayLike) -> KKCheck:
    """Lin-KK check of one spectrum (Im Z < 0 capacitive); see the module notes for the choices.

    Parameters
    ----------
    frequency_hz, z
        Frequencies [Hz] (> 0, distinct) and impedances [Ω]; at least 4 points.

    Returns
    -------
    KKCheck
        Residuals per point, the points that fail, the number of RC elements M and μ.
    """
    from impedance.validation import fit_linKK, get_tc_distribution

    f = np.asarray(frequency_hz, dtype=float)
    zc = np.asarray(z, dtype=complex)
    n = f.size
    if n < 4:
        empty = np.zeros(n)
        return KKCheck(0, math.nan, empty, empty.copy(), np.zeros(n, dtype=bool), math.nan, math.nan)
    decades = math.log10(float(f.max() / f.min()))
    # at most one RC element per complex point beyond the series R, L, C: the linear fit stays determined
    max_m = max(1, min(KK_MAX_M, n - 3))
    m = max(1, min(max_m, math.ceil(KK_M_PER_DECADE * decades)))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        while True:
            taus = get_tc_distribution(f, m)
            elements, mu = fit_linKK(f, taus, m, zc, "complex", True)
            if (math.isfinite(mu) and mu <= KK_C) or m >= max_m:
                break
            m += 1
    omega = 2.0 * np.pi * f
    r0, rk, c_inv, inductance = elements[0], elements[1:-2], elements[-2], elements[-1]
    model = r0 + (rk[None, :] / (1.0 + 1j * omega[:, None] * taus[None, :])).sum(axis=1)
    model = model + 1j * omega * inductance + c_inv / (1j * omega)
    residual = (zc - model) / np.abs(zc)
    both = np.concatenate([residual.real, residual.imag])
    sigma = 1.4826 * float(np.median(np.abs(both)))
    threshold = max(KK_FAIL_SIGMAS * sigma, KK_FAIL_FLOOR)
    failed = np.maximum(np.abs(residual.real), np.abs(residual.imag)) > threshold
    dof = max(2 * n - (m + 3), 1)
    noise = float(np.sqrt(np.sum(both**2) / dof))
    return KKCheck(
        m=m,
        mu=float(mu),
        residual_real=np.asarray(residual.real, dtype=float),
        residual_imag=np.asarray(residual.imag, dtype=float),
        failed=failed,
        threshold=threshold,
        noise=noise,
    )


@dataclass(frozen=True, eq=False)
class Window:
    """Which points of a spectrum are fitted, and why the others are not (masks in the spectrum's order).

    ``outside``: beyond the requested fmin/fmax; ``inductive``: the inductive tail at high frequency
    (Im Z > 0 from the top down, and the points below it that the tail's inductance still dominates);
    ``non_kk``: failing Lin-KK. A point can carry several reasons; ``keep`` carries none.
    """

    keep: npt.NDArray[np.bool_]
    outside: npt.NDArray[np.bool_]
    inductive: npt.NDArray[np.bool_]
    non_kk: npt.NDArray[np.bool_]

    def reason(self, i: int) -> str:
        """Why point *i* is not fitted ("" when it is)."""
        names = [
            name
            for name, mask in (("outside", self.outside), ("inductive", self.inductive), ("non-KK", self.non_kk))
            if mask[i]
        ]
        return "+".join(names)


def frequency_window(
    frequency_hz: npt.NDArray[np.float64],
    z: npt.NDArray[np.complex128],
    *,
    fmin: float | None = None,
    fmax: float | None = None,
    kk_failed: npt.NDArray[np.bool_] | None = None,
    drop_inductive: bool = True,
    noise: float = 0.0,
) -> Window:
    """The automatic window: the requested range, without the inductive tail and the non-KK points.

    The inductive tail: walking down from the highest frequency, every point with Im Z > 0; then the
    cable inductance L̂ = median(Im Z/ω) of those points, and the points below while Im Z > 0 or
    ω·L̂ > 10 % of |Im Z| (:data:`INDUCTIVE_SHARE`), through positive points that the inductance explains
    (Im Z ≤ 2·ω·L̂ + 3·noise·|Z|, ``noise`` relative to |Z| as Lin-KK estimates it: near the crossing,
    noise flips signs) but not into an inductive loop (Im Z > 0 far beyond ω·L̂): a loop further down is
    not a tail and is kept, the fit's flags report it. ``drop_inductive=False`` keeps the tail (a
    spectrum whose sign is in doubt).
    """
    f = np.asarray(frequency_hz, dtype=float)
    zc = np.asarray(z, dtype=complex)
    outside = np.zeros(f.size, dtype=bool)
    if fmin is not None:
        outside |= f < fmin * (1.0 - 1e-9)
    if fmax is not None:
        outside |= f > fmax * (1.0 + 1e-9)
    inductive = np.zeros(f.size, dtype=bool)
    inside = np.flatnonzero(~outside)
    down = inside[np.argsort(-f[inside], kind="stable")]  # from the highest frequency down
    tail = 0
    while drop_inductive and tail < down.size and zc.imag[down[tail]] > 0:
        tail += 1
    if tail:
        top = down[:tail]
        inductance = float(np.median(zc.imag[top] / (2.0 * np.pi * f[top])))
        while tail < down.size:
            i = down[tail]
            if not _in_tail(2.0 * np.pi * f[i] * inductance, float(zc.imag[i]), 3.0 * noise * float(abs(zc[i]))):
                break
            tail += 1
        inductive[down[:tail]] = True
    non_kk = np.zeros(f.size, dtype=bool) if kk_failed is None else np.asarray(kk_failed, dtype=bool) & ~outside
    keep = ~(outside | inductive | non_kk)
    return Window(keep=keep, outside=outside, inductive=inductive, non_kk=non_kk)


def _in_tail(reactance_l: float, imag: float, slack: float) -> bool:
    """Whether a point below the strictly inductive top still belongs to the cable's tail."""
    if imag > 0:
        return imag <= 2.0 * reactance_l + slack
    return reactance_l > INDUCTIVE_SHARE * abs(imag)
