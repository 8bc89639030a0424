"""Fit a blocking transmission-line model to one impedance spectrum and say whether to trust it.

The circuit is impedance.py's ``R0-TLMQ0``: a series resistance R_sep (separator, plus contacts) and
the blocking transmission line of Landesfeind et al., J. Electrochem. Soc. 163 (2016) A1373, Eq. 11,

    Z = R_sep + sqrt(R_ion·Z_q)·coth(sqrt(R_ion/Z_q)),   Z_q = 1/(Q·(jω)^γ),

with R_ion [Ω], Q [F·s^(γ−1)] and 0.5 ≤ γ ≤ 1. Every spectrum is fitted twice with impedance.py's
``CustomCircuit.fit`` (scipy's bounded trust-region least squares; never its ``global_opt``, which
diverged on real spectra and took minutes), once unweighted and once weighted by the modulus |Z|, both
from one initial guess read off the data. On real spectra neither weighting alone is safe (each had
one gross failure on a different spectrum), so the two are compared and the spectrum is flagged when
they disagree, when a fit ends on a bound, when the residual is high or when the window holds too few
points.

Which result is reported (``report="auto"``): the fit with the smaller relative residual
sqrt(mean(|Z − Ẑ|²/|Z|²)). The modulus-weighted fit minimises exactly that quantity, so "auto" reports
the weighted fit unless it stopped in a worse minimum than the unweighted one (then the unweighted fit
describes the data better on the weighted fit's own terms). Weighting by |Z| is the maximum-likelihood
choice for noise proportional to |Z|, as potentiostats produce; on simulated spectra with 0.5 % noise
it was the more accurate of the two (see ``benchmarks/bench_eis.py``). On the real spectra behind the
project's domain facts the unweighted fit had the lower median error (0.5 % against 2.9 %), so
``report="unweighted"`` is offered; the flag is the same either way.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from impedance.models.circuits import CustomCircuit
from scipy.optimize import OptimizeWarning

from glassline.eis._readers import check_spectrum, detect_imag_sign
from glassline.eis._transmission_line import transmission_line_impedance
from glassline.eis._validity import KKCheck, Window, frequency_window, lin_kk
from glassline.exceptions import DataError

__all__ = [
    "CIRCUIT",
    "FLAG_LIMITS",
    "GAMMA_BOUNDS",
    "PARAMETER_UNITS",
    "CircuitFit",
    "EISFit",
    "ReportChoice",
    "check_fit_options",
    "fit_spectrum",
    "initial_guess",
    "predict_impedance",
]

CIRCUIT = "R0-TLMQ0"
"""impedance.py's circuit string: R_sep in series with the blocking transmission line (TLMQ)."""

PARAMETERS = ("r_sep", "r_ion", "q", "gamma")
PARAMETER_UNITS: dict[str, str] = {"r_sep": "Ω", "r_ion": "Ω", "q": "F·s^(γ−1)", "gamma": "1"}

GAMMA_BOUNDS = (0.5, 1.0)
"""γ = 1 is an ideal double-layer capacitance; below 0.5 the element behaves like diffusion, not a
blocking electrode. A fit ending at γ = 1 is physically fine and is not flagged; ending at 0.5 is."""

ReportChoice = Literal["auto", "weighted", "unweighted"]
Weighting = Literal["unweighted", "weighted"]  # weighted: by the modulus |Z|

_BOUNDS = ([0.0, 0.0, 0.0, GAMMA_BOUNDS[0]], [np.inf, np.inf, np.inf, GAMMA_BOUNDS[1]])
# From the data-derived guess a fit converged in 6-12 function evaluations (plus the Jacobian's) on
# 150 simulated spectra, calendered and with contact arcs; impedance.py's default of 100,000 lets one
# pathological spectrum stall a batch for minutes. Hitting this limit fails the fit, which is flagged.
_MAX_EVALUATIONS = 200
_FIT_MIN_POINTS = 3  # 4 parameters need at least 2 complex points; 3 leaves one degree of freedom
_AT_BOUND_RTOL = 1e-6
# The initial-guess grid: measured on 300 simulated cells (R_ion 50-500 Ω, Q 0.5-5 mF·s^(γ-1), γ 0.8-1,
# spectra to 1 or 10 kHz), it put R_ion within 0.77-1.26x and γ within 0.93-1.07x of the truth in ~1 ms.
_GUESS_GAMMAS = np.linspace(GAMMA_BOUNDS[0], GAMMA_BOUNDS[1], 11)
_GUESS_R_ION_POINTS = 24

FLAG_LIMITS: dict[str, float] = {
    "noise": 0.015,
    "misfit": 3.0,
    "non_kk": 0.05,
    "positive_im": 0.05,
    "reach": 2.0,
    "phase": 54.0,
    "stderr": 0.10,
}
"""Thresholds of the validity flags, all dimensionless (see :func:`fit_spectrum`). Measured on the
real-looking set (:func:`~glassline.eis.simulate_real_looking`, ``benchmarks/bench_eis_real.py``); on
its good spectra the largest values were: Lin-KK noise 1.1 % (limit 2 %: potentiostats specify < 1 %),
misfit ratio 1.15 (limit 3: the fit's residual three times the noise means a systematic part
√(3² − 1) ≈ 2.8 times the noise; at 2, uncalendered spectra fitted on the paper's 1 kHz–100 mHz window,
where only the tail of a 10–30 kHz contact arc remains, were flagged 13 times in 60 with R_ion as
accurate as the unflagged ones (median error 0.8 % vs 0.7 %); contact arcs inside the window gave 20–140),
Lin-KK failures 1 point of 66 (1.5 %, limit 5 %), Im Z > 0 inside the window beyond 3 noise standard
deviations 1 point (limit 5 %; counted without the noise margin, noise near the inductive crossing put
up to 6 of 66 points above zero),
reach R_ion·Q·ω_min^γ 0.78 (limit 2: the capacitive branch, where coth → 1/x, needs
R_ion·Q·ω^γ ≲ 1), relative standard error of R_ion 2.1 % (limit 10 %). The phase limit (degrees) is the
fit-free view of the reach: at the lowest fitted frequency, the angle of Z − Re Z(f_max) must be
steeper than 54° = 0.6·90° (a blocking electrode's capacitive branch tends to γ·90°, 76–90° for
γ 0.84–1; the 45° line of the transmission line's middle is not yet that branch)."""


@dataclass(frozen=True)
class CircuitFit:
    """One least-squares fit of ``R0-TLMQ0`` (all NaN, with ``error`` set, when it failed)."""

    weighting: Weighting
    r_sep: float
    r_ion: float
    q: float
    gamma: float
    residual: float
    """Relative residual sqrt(mean(|Z − Ẑ|²/|Z|²)) over the fitted points."""
    stderr: tuple[float, float, float, float] = (math.nan,) * 4
    """One-standard-deviation estimates from the fit's covariance (impedance.py's ``conf_``)."""
    at_bound: tuple[str, ...] = ()
    """Parameters that ended on a bound, as ``"name=value"``."""
    error: str = ""
    """Why the fit failed; empty when it converged."""

    @property
    def parameters(self) -> tuple[float, float, float, float]:
        """(R_sep [Ω], R_ion [Ω], Q [F·s^(γ−1)], γ), the order impedance.py uses."""
        return (self.r_sep, self.r_ion, self.q, self.gamma)

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass(frozen=True)
class EISFit:
    """The result for one spectrum: the reported parameters, both fits, and a flag.

    ``flag`` is empty when the fit is trusted, otherwise it lists every reason, separated by "; ".
    """

    r_ion: float
    r_sep: float
    q: float
    gamma: float
    residual: float
    flag: str
    reported: Literal["weighted", "unweighted"]
    unweighted: CircuitFit
    weighted: CircuitFit
    n_points: int
    fmin_hz: float
    """Lowest frequency fitted (NaN when no point lay in the window)."""
    fmax_hz: float
    """Highest frequency fitted (NaN when no point lay in the window)."""
    initial_guess: tuple[float, float, float, float] = field(default=(math.nan,) * 4)
    validated: bool = False
    """Whether the Lin-KK check and the automatic window ran (``validate=True``)."""
    n_total: int = 0
    """Points in the spectrum given (before any window)."""
    n_outside: int = 0
    """Points outside the requested fmin/fmax."""
    n_inductive: int = 0
    """Points dropped as the inductive tail."""
    n_non_kk: int = 0
    """Points inside the requested range that fail Lin-KK (dropped)."""
    kk_m: int = 0
    """RC elements of the Lin-KK circuit (0: not checked)."""
    kk_noise: float = math.nan
    """Lin-KK residual per component on the fitted points, relative to |Z| (an estimate of the noise)."""
    kk_max_real: float = math.nan
    """Largest |Lin-KK residual| of Re Z inside the requested range, relative to |Z|."""
    kk_max_imag: float = math.nan
    """Largest |Lin-KK residual| of Im Z inside the requested range, relative to |Z|."""
    misfit: float = math.nan
    """The reported fit's residual per component divided by ``kk_noise`` (≈ 1 when the circuit explains
    everything but the noise)."""
    reach: float = math.nan
    """R_ion·Q·ω_min^γ at the lowest fitted frequency: ≲ 1 when the window reaches the capacitive branch."""
    low_frequency_phase: float = math.nan
    """−angle of (Z − Re Z at the highest fitted frequency) at the lowest fitted frequency [°]: toward
    γ·90° on the capacitive branch, about 45° on the transmission line's middle."""
    r_ion_rel_stderr: float = math.nan
    """Standard error of the reported R_ion (from the fit's covariance) relative to R_ion."""
    frequency_hz: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0), repr=False)
    """All frequencies given [Hz] (the order given), for :meth:`points`."""
    z: npt.NDArray[np.complex128] = field(default_factory=lambda: np.zeros(0, dtype=complex), repr=False)
    kk: KKCheck | None = field(default=None, repr=False)
    """The Lin-KK check on the points inside the requested range (None when not run)."""
    window: Window | None = field(default=None, repr=False)

    @property
    def trusted(self) -> bool:
        return not self.flag

    @property
    def parameters(self) -> tuple[float, float, float, float]:
        return (self.r_sep, self.r_ion, self.q, self.gamma)

    def predict(self, frequency_hz: npt.ArrayLike) -> npt.NDArray[np.complex128]:
        """Impedance of the reported fit at *frequency_hz* [Ω]."""
        return predict_impedance(self.parameters, frequency_hz)

    def as_row(self) -> dict[str, float | int | str]:
        """The columns of ``rion.csv``: reported values, flag, both fits, window."""
        row: dict[str, float | int | str] = {
            "r_ion": self.r_ion,
            "r_sep": self.r_sep,
            "q": self.q,
            "gamma": self.gamma,
            "residual": self.residual,
            "flag": self.flag,
            "reported": self.reported,
        }
        for name, fit in (("unweighted", self.unweighted), ("weighted", self.weighted)):
            for parameter in (*PARAMETERS, "residual"):
                row[f"{parameter}_{name}"] = getattr(fit, parameter)
        row.update(n_points=self.n_points, fmin_hz=self.fmin_hz, fmax_hz=self.fmax_hz)
        row.update(
            n_total=self.n_total,
            n_dropped=self.n_total - self.n_points,
            n_dropped_outside=self.n_outside,
            n_dropped_inductive=self.n_inductive,
            n_dropped_non_kk=self.n_non_kk,
            kk_m=self.kk_m,
            kk_noise=self.kk_noise,
            kk_max_res_real=self.kk_max_real,
            kk_max_res_imag=self.kk_max_imag,
            misfit_ratio=self.misfit,
            low_frequency_reach=self.reach,
            low_frequency_phase_deg=self.low_frequency_phase,
            r_ion_rel_stderr=self.r_ion_rel_stderr,
        )
        return row

    def points(self) -> pd.DataFrame:
        """One row per point given: frequency, Z, Lin-KK residuals, whether it fails Lin-KK, whether it
        was fitted (else why not: "outside", "inductive", "non-KK") and the reported fit's Z there."""
        f, z = self.frequency_hz, self.z
        n = f.size
        nan = np.full(n, math.nan)
        res_re, res_im, failed = nan.copy(), nan.copy(), np.zeros(n, dtype=bool)
        window = self.window
        if self.kk is not None and window is not None:
            inside = ~window.outside
            res_re[inside], res_im[inside] = self.kk.residual_real, self.kk.residual_imag
            failed[inside] = self.kk.failed
        keep = window.keep if window is not None else np.ones(n, dtype=bool)
        model = self.predict(f) if n and math.isfinite(self.r_ion) else np.full(n, complex(math.nan, math.nan))
        return pd.DataFrame(
            {
                "frequency_hz": f,
                "re_z": z.real,
                "im_z": z.imag,
                "kk_res_real": res_re,
                "kk_res_imag": res_im,
                "kk_failed": failed,
                "fitted": keep,
                "dropped": [window.reason(i) if window is not None else "" for i in range(n)],
                "fit_re_z": model.real,
                "fit_im_z": model.imag,
            }
        )


def predict_impedance(
    parameters: tuple[float, float, float, float] | npt.ArrayLike, frequency_hz: npt.ArrayLike
) -> npt.NDArray[np.complex128]:
    """Impedance [Ω] of ``R0-TLMQ0`` with (R_sep, R_ion, Q, γ) at *frequency_hz*, by impedance.py."""
    values = [float(v) for v in np.asarray(parameters, dtype=float).ravel()]
    circuit = CustomCircuit(CIRCUIT, initial_guess=values)
    circuit.parameters_ = np.asarray(values)  # predict from these values without the "initial" warning
    return np.asarray(circuit.predict(np.asarray(frequency_hz, dtype=float)), dtype=complex)


def initial_guess(frequency_hz: npt.ArrayLike, z: npt.ArrayLike) -> tuple[float, float, float, float]:
    """A starting point (R_sep, R_ion, Q, γ) read off the spectrum, inside the fit's bounds.

    A grid search, with the transmission line evaluated by
    :func:`~glassline.eis.transmission_line_impedance` over all grid values at
    once: γ from 0.5 to 1 in steps of 0.05; for each γ, Q from the capacitive tail at the lowest
    frequency, −Im Z = sin(γπ/2)/(Q·ω^γ); R_ion on a log grid over 0.1–30 times the growth of Re Z
    across the spectrum; R_sep, a linear parameter, solved in closed form at each grid point. The
    point with the smallest modulus-weighted misfit wins. Reading γ off the slope of the tail alone
    fails when a spectrum stops near the transition frequency (R_ion·Q)^(−1/γ), where the tail has
    not formed yet; the grid does not.
    """
    f = np.asarray(frequency_hz, dtype=float)
    zc = np.asarray(z, dtype=complex)
    order = np.argsort(f)
    f, zc = f[order], zc[order]
    omega0 = 2.0 * np.pi * f[0]
    modulus = np.maximum(np.abs(zc), np.finfo(float).tiny)
    span = max(float(np.ptp(zc.real)), 1e-3 * float(modulus.max()))
    floor = 1e-3 * float(modulus.min())
    tail = -zc.imag[0] if zc.imag[0] < 0 else float(modulus[0])
    gammas = _GUESS_GAMMAS[:, None, None]
    qs = np.sin(gammas * np.pi / 2) / (omega0**gammas * tail)
    r_ions = np.geomspace(0.1 * span, 30.0 * span, _GUESS_R_ION_POINTS)[None, :, None]
    if not np.all(np.isfinite(qs) & (qs > 0)):
        return (floor, span, 1e-3, 0.9)
    weight = 1.0 / modulus**2
    weight /= weight.sum()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        rest = zc - transmission_line_impedance(f, 0.0, r_ions, qs, gammas)
        r_seps = np.maximum(np.sum(weight * rest.real, axis=-1), floor)
        cost = np.sum(weight * np.abs(rest - r_seps[..., None]) ** 2, axis=-1)
    cost = np.where(np.isfinite(cost), cost, np.inf)
    g, r = np.unravel_index(int(np.argmin(cost)), cost.shape)
    gamma = min(float(_GUESS_GAMMAS[g]), 0.99)  # strictly inside the bounds
    return (float(r_seps[g, r]), float(r_ions[0, r, 0]), float(qs[g, 0, 0]), gamma)


def fit_spectrum(
    frequency_hz: npt.ArrayLike,
    z: npt.ArrayLike,
    *,
    fmin: float | None = None,
    fmax: float | None = None,
    tolerance: float = 0.05,
    max_residual: float = 0.03,
    min_points: int = 10,
    report: ReportChoice = "auto",
    source: str = "<array>",
    validate: bool = True,
) -> EISFit:
    """Check one spectrum, window it, fit R_sep + blocking TLM (unweighted and modulus-weighted), flag doubts.

    Parameters
    ----------
    frequency_hz, z
        Frequencies [Hz] and impedances [Ω], Im Z < 0 capacitive (impedance.py's convention).
    fmin, fmax
        The requested range [Hz] (None: open; the paper fits uncalendered electrodes on 1 kHz–100 mHz
        to keep a contact arc out).
    tolerance
        Flag when the weighted and unweighted R_ion differ by more than this fraction of the reported one.
    max_residual
        Flag when the reported relative residual sqrt(mean(|Z − Ẑ|²/|Z|²)) exceeds this.
    min_points
        Flag when fewer points are fitted.
    report
        The reported fit: "auto" (the smaller relative residual; see the module notes), "weighted" or
        "unweighted".
    source
        Names the spectrum in messages.
    validate
        Run the Lin-KK check (:func:`~glassline.eis.lin_kk`) on the points in the requested range and
        fit only the automatic window (:func:`~glassline.eis.frequency_window`): without the inductive
        tail and without the points that fail Lin-KK. False fits every point in the requested range
        (the behaviour before the check existed).

    Returns
    -------
    EISFit
        The reported parameters, both fits, the window used, the Lin-KK figures and ``flag``: empty
        when trusted, else every reason, separated by "; ". Besides the fit's own doubts (the two
        weightings disagree, a bound, the residual, too few points, a failed fit, Im Z > 0 at most
        points) a validated spectrum is flagged when (thresholds :data:`FLAG_LIMITS`): the Lin-KK noise
        exceeds 2 % of |Z|; more than 5 % of the points fail Lin-KK (drift, a changing cell); the fit's
        residual is more than three times the Lin-KK residual (the circuit misses a feature: a contact arc,
        an inductive loop); Im Z > 0 beyond 3 noise standard deviations at more than 5 % of the fitted
        points (an inductive loop); the
        window stops before the capacitive branch (R_ion·Q·ω_min^γ > 2: R_ion is extrapolated); the
        standard error of R_ion exceeds 10 %.

    Invalid data raise :class:`DataError`; a spectrum that merely fits badly is returned with its flag,
    never dropped.
    """
    check_fit_options(fmin, fmax, tolerance, max_residual, min_points, report)
    given = check_spectrum(frequency_hz, z, source=source)
    f_all, z_all = given.frequency_hz, given.z
    kk: KKCheck | None = None
    flipped = detect_imag_sign(f_all, z_all) < 0  # the low frequencies inductive: a −Im Z file read as Im Z
    if validate:
        requested = frequency_window(f_all, z_all, fmin=fmin, fmax=fmax)
        inside = ~requested.outside
        kk = lin_kk(f_all[inside], z_all[inside]) if inside.sum() >= 4 else None
        failed = np.zeros(f_all.size, dtype=bool)
        if kk is not None:
            failed[inside] = kk.failed
        window = frequency_window(
            f_all,
            z_all,
            fmin=fmin,
            fmax=fmax,
            kk_failed=failed,
            drop_inductive=not flipped,
            noise=kk.noise if kk is not None else 0.0,
        )
    else:  # the requested range only
        requested = frequency_window(f_all, z_all, fmin=fmin, fmax=fmax)
        none = np.zeros(f_all.size, dtype=bool)
        window = Window(keep=~requested.outside, outside=requested.outside, inductive=none, non_kk=none.copy())
    f, zc = f_all[window.keep], z_all[window.keep]
    n = int(f.size)
    reasons: list[str] = []
    if n < max(min_points, _FIT_MIN_POINTS):
        need = max(min_points, _FIT_MIN_POINTS)
        dropped = ""
        if validate and (window.inductive.any() or window.non_kk.any()):
            dropped = (
                f" after dropping {int(window.inductive.sum())} inductive and {int(window.non_kk.sum())} non-KK points"
            )
        reasons.append(f"too few points: {n} in the window {_window_text(fmin, fmax)}{dropped} (need ≥ {need})")
    if n < _FIT_MIN_POINTS:
        unweighted = _failed("unweighted", "not fitted")
        weighted = _failed("weighted", "not fitted")
        guess: tuple[float, float, float, float] = (math.nan,) * 4
    else:
        if np.mean(zc.imag > 0) > 0.5 or flipped:
            reasons.append("Im Z > 0 at most points: does the file store −Im Z?")
        guess = initial_guess(f, zc)
        unweighted = _fit_once(f, zc, guess, "unweighted")
        weighted = _fit_once(f, zc, guess, "weighted")
    chosen = _choose(unweighted, weighted, report)
    best = weighted if chosen == "weighted" else unweighted
    for fit in (unweighted, weighted):
        label = fit.weighting
        if fit.error and n >= _FIT_MIN_POINTS:
            reasons.append(f"{label} fit failed: {fit.error}")
        flagged = [b for b in fit.at_bound if not b.startswith(f"gamma={GAMMA_BOUNDS[1]:g}")]
        if flagged:
            reasons.append(f"{label} fit ended on a bound: {', '.join(flagged)}")
    if unweighted.ok and weighted.ok:
        gap = abs(weighted.r_ion - unweighted.r_ion) / max(abs(best.r_ion), np.finfo(float).tiny)
        if gap > tolerance:
            reasons.append(
                f"weighted and unweighted R_ion differ by {100 * gap:.1f} % "
                f"({weighted.r_ion:.4g} vs {unweighted.r_ion:.4g} Ω, tolerance {100 * tolerance:g} %)"
            )
    if best.ok and best.residual > max_residual:
        reasons.append(f"relative residual {100 * best.residual:.2f} % > {100 * max_residual:g} %")
    figures = _validity_figures(kk, window, f_all, z_all, best, n)
    if validate:
        reasons.extend(_validity_reasons(figures, window, f_all, z_all, kk))
    return EISFit(
        r_ion=best.r_ion,
        r_sep=best.r_sep,
        q=best.q,
        gamma=best.gamma,
        residual=best.residual,
        flag="; ".join(reasons),
        reported=chosen,
        unweighted=unweighted,
        weighted=weighted,
        n_points=n,
        fmin_hz=float(f.min()) if n else math.nan,
        fmax_hz=float(f.max()) if n else math.nan,
        initial_guess=guess,
        validated=validate,
        n_total=int(f_all.size),
        n_outside=int(window.outside.sum()),
        n_inductive=int(window.inductive.sum()),
        n_non_kk=int(window.non_kk.sum()),
        kk_m=kk.m if kk is not None else 0,
        kk_noise=figures["kk_noise"],
        kk_max_real=kk.max_real if kk is not None else math.nan,
        kk_max_imag=kk.max_imag if kk is not None else math.nan,
        misfit=figures["misfit"],
        reach=figures["reach"],
        low_frequency_phase=figures["phase"],
        r_ion_rel_stderr=figures["stderr"],
        frequency_hz=f_all,
        z=z_all,
        kk=kk,
        window=window,
    )


def _validity_figures(
    kk: KKCheck | None,
    window: Window,
    f_all: npt.NDArray[np.float64],
    z_all: npt.NDArray[np.complex128],
    best: CircuitFit,
    n: int,
) -> dict[str, float]:
    """Lin-KK noise on the fitted points, misfit ratio, reach of the capacitive branch, R_ion's stderr."""
    nan = math.nan
    figures = {"kk_noise": nan, "misfit": nan, "reach": nan, "stderr": nan, "phase": nan}
    if n >= 2:
        f, z = f_all[window.keep], z_all[window.keep]
        low = z[int(np.argmin(f))] - z[int(np.argmax(f))].real
        figures["phase"] = -math.degrees(math.atan2(low.imag, low.real))
    if best.ok and n:
        omega_min = 2.0 * math.pi * float(f_all[window.keep].min())
        figures["reach"] = best.r_ion * best.q * omega_min**best.gamma
        if math.isfinite(best.stderr[1]) and best.r_ion > 0:
            figures["stderr"] = best.stderr[1] / best.r_ion
    if kk is not None and n:
        keep_inside = window.keep[~window.outside]
        res = np.concatenate([kk.residual_real[keep_inside], kk.residual_imag[keep_inside]])
        total = 2 * kk.residual_real.size
        used = (kk.m + 3) * res.size / max(total, 1)  # the Lin-KK circuit's share of degrees of freedom
        noise = float(np.sqrt(np.sum(res**2) / max(res.size - used, 1.0)))
        figures["kk_noise"] = noise
        if best.ok and noise > 0:
            figures["misfit"] = best.residual / math.sqrt(2.0) / noise
    return figures


def _validity_reasons(
    figures: dict[str, float],
    window: Window,
    f_all: npt.NDArray[np.float64],
    z_all: npt.NDArray[np.complex128],
    kk: KKCheck | None,
) -> list[str]:
    """The flags of the validity check, each with the measured value, the limit and what it means."""
    limits = FLAG_LIMITS
    f, z = f_all[window.keep], z_all[window.keep]
    reasons = []
    if kk is None:
        return ["Lin-KK check not run: fewer than 4 points in the requested range"]
    noise = figures["kk_noise"]
    if math.isfinite(noise) and noise > limits["noise"]:
        reasons.append(
            f"noisy: the Lin-KK residuals put the noise at {100 * noise:.1f} % of |Z| "
            f"(limit {100 * limits['noise']:g} %)"
        )
    checked = int((~window.outside).sum())
    failing = int(window.non_kk.sum())
    if checked and failing / checked > limits["non_kk"]:
        low, high = float(f_all[window.non_kk].min()), float(f_all[window.non_kk].max())
        reasons.append(
            f"{failing} of {checked} points fail Lin-KK ({_hz(low)}–{_hz(high)}, limit {100 * limits['non_kk']:g} %): "
            "drift or a cell changing during the sweep, so they were not fitted"
        )
    misfit = figures["misfit"]
    if math.isfinite(misfit) and misfit > limits["misfit"]:
        reasons.append(
            f"the fit's residual is {misfit:.1f}× the Lin-KK residual (limit {limits['misfit']:g}×): R_sep + "
            "transmission line misses a feature of the data (a contact arc? an inductive loop?)"
        )
    if f.size:
        # significantly positive: beyond 3 noise standard deviations (noise alone makes Im Z ≈ 0 positive)
        slack = 3.0 * (noise if math.isfinite(noise) else 0.0) * np.abs(z)
        positive = z.imag > slack
        if positive.mean() > limits["positive_im"]:
            reasons.append(
                f"Im Z > 0 beyond the noise at {int(positive.sum())} of {f.size} fitted points "
                f"({_hz(float(f[positive].min()))}–{_hz(float(f[positive].max()))}, "
                f"limit {100 * limits['positive_im']:g} %): an inductive loop"
            )
    reach, phase = figures["reach"], figures["phase"]
    short = [
        f"R_ion·Q·ω_min^γ = {reach:.2g} > {limits['reach']:g}"
        if math.isfinite(reach) and reach > limits["reach"]
        else "",
        f"phase there {phase:.0f}° < {limits['phase']:g}°" if math.isfinite(phase) and phase < limits["phase"] else "",
    ]
    if any(short):
        reasons.append(
            f"truncated: the window stops at {_hz(float(f.min()))}, before the capacitive branch "
            f"({' and '.join(s for s in short if s)}), so R_ion is extrapolated"
        )
    stderr = figures["stderr"]
    if math.isfinite(stderr) and stderr > limits["stderr"]:
        reasons.append(
            f"R_ion poorly determined: standard error {100 * stderr:.3g} % (limit {100 * limits['stderr']:g} %)"
        )
    return reasons


def _hz(value: float) -> str:
    if value >= 1e3:
        return f"{value / 1e3:.3g} kHz"
    if value < 1:
        return f"{value * 1e3:.3g} mHz"
    return f"{value:.3g} Hz"


def check_fit_options(
    fmin: float | None, fmax: float | None, tolerance: float, max_residual: float, min_points: int, report: str
) -> None:
    """Raise a DataError for an option of :func:`fit_spectrum` outside its domain."""
    for name, value in (("fmin", fmin), ("fmax", fmax)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise DataError(f"fit_spectrum: {name} must be a frequency > 0 Hz or None, got {value!r}")
    if fmin is not None and fmax is not None and fmin >= fmax:
        raise DataError(f"fit_spectrum: fmin must be below fmax, got fmin={fmin:g} Hz and fmax={fmax:g} Hz")
    if not (math.isfinite(tolerance) and tolerance > 0):
        raise DataError(f"fit_spectrum: tolerance must be a fraction > 0 (0.05 = 5 %), got {tolerance!r}")
    if not (math.isfinite(max_residual) and max_residual > 0):
        raise DataError(f"fit_spectrum: max_residual must be a fraction > 0, got {max_residual!r}")
    if min_points < 1:
        raise DataError(f"fit_spectrum: min_points must be ≥ 1, got {min_points!r}")
    if report not in ("auto", "weighted", "unweighted"):
        raise DataError(f"fit_spectrum: report must be 'auto', 'weighted' or 'unweighted', got {report!r}")


def _window_text(fmin: float | None, fmax: float | None) -> str:
    low = "0" if fmin is None else f"{fmin:g}"
    high = "∞" if fmax is None else f"{fmax:g}"
    return f"{low}–{high} Hz"


def _failed(weighting: Weighting, error: str) -> CircuitFit:
    nan = math.nan
    return CircuitFit(weighting, nan, nan, nan, nan, nan, error=error)


def _fit_once(
    f: npt.NDArray[np.float64],
    z: npt.NDArray[np.complex128],
    guess: tuple[float, float, float, float],
    weighting: Weighting,
) -> CircuitFit:
    circuit = CustomCircuit(CIRCUIT, initial_guess=list(guess))
    with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        # a singular Jacobian only means no covariance; the stderr stays NaN
        warnings.filterwarnings("ignore", message="Covariance of the parameters", category=OptimizeWarning)
        try:
            circuit.fit(f, z, bounds=_BOUNDS, weight_by_modulus=weighting == "weighted", maxfev=_MAX_EVALUATIONS)
        except (RuntimeError, ValueError, np.linalg.LinAlgError) as exc:
            return _failed(weighting, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        model = np.asarray(circuit.predict(f), dtype=complex)
    values = [float(v) for v in circuit.parameters_]
    if not all(math.isfinite(v) for v in values) or not np.all(np.isfinite(model)):
        return _failed(weighting, "the fit produced non-finite values")
    residual = float(np.sqrt(np.mean(np.abs(z - model) ** 2 / np.maximum(np.abs(z) ** 2, np.finfo(float).tiny))))
    conf = getattr(circuit, "conf_", None)
    stderr = tuple(float(v) for v in conf) if conf is not None else (math.nan,) * 4
    scale = float(np.abs(z).max())
    at_bound = []
    for name, value, floor in zip(PARAMETERS[:3], values[:3], (scale, scale, guess[2]), strict=True):
        if value <= _AT_BOUND_RTOL * floor:
            at_bound.append(f"{name}={value:.3g}")
    for bound in GAMMA_BOUNDS:
        if abs(values[3] - bound) <= _AT_BOUND_RTOL:
            at_bound.append(f"gamma={bound:g}")
    return CircuitFit(
        weighting,
        r_sep=values[0],
        r_ion=values[1],
        q=values[2],
        gamma=values[3],
        residual=residual,
        stderr=(stderr[0], stderr[1], stderr[2], stderr[3]),
        at_bound=tuple(at_bound),
    )


def _choose(unweighted: CircuitFit, weighted: CircuitFit, report: ReportChoice) -> Literal["weighted", "unweighted"]:
    if report != "auto":
        return report
    if not weighted.ok:
        return "unweighted" if unweighted.ok else "weighted"
    if not unweighted.ok:
        return "weighted"
    return "unweighted" if unweighted.residual < weighted.residual else "weighted"
