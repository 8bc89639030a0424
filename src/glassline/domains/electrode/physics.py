"""Physics of the electrode reference case, as pure numpy-vectorized functions.

Each function takes floats or arrays (broadcast against each other) and returns a float (or complex)
for scalar input and an array otherwise. Units are in the parameter names: ``_um`` micrometres,
``_mg_cm2`` mg/cm², ``_g_cm3`` g/cm³, ``_s_cm`` S/cm, ``_ohm`` Ω, ``_cm2`` cm², ``_h`` hours.
Porosities and fractions are dimensionless fractions (0.3, not 30 %).

Physically impossible input (a porosity outside (0, 1), a non-positive thickness, ...) raises
:class:`glassline.exceptions.DataError`, naming the parameter. NaN is treated as a missing value and
propagates to the result; infinities are rejected.

Equation numbers refer to Haghi et al., Batteries & Supercaps 2023 (doi:10.1002/batt.202300457)
unless another source is named.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
from scipy import optimize

from glassline._checks import FINITE, HALF_OPEN_UNIT, NON_NEGATIVE, OPEN_UNIT, POSITIVE, check_array
from glassline.domains.electrode import constants
from glassline.eis import transmission_line_impedance
from glassline.exceptions import DataError

__all__ = [
    "BruggemanFit",
    "FloatOrArray",
    "areal_capacity",
    "bruggeman",
    "characteristic_time_h",
    "compaction_rate",
    "compaction_rate_from_porosity",
    "disc_area_cm2",
    "fit_bruggeman",
    "gravimetric_capacity",
    "ionic_resistance",
    "macmullin_number",
    "modified_bruggeman",
    "porosity",
    "rate_capability",
    "thickness_from_loading",
    "tortuosity",
    "transmission_line_impedance",
]

FloatOrArray: TypeAlias = float | npt.NDArray[np.float64]

_UM_PER_CM = 1e4
_MG_PER_G = 1e3
_S_PER_H = 3600.0
_MM_PER_CM = 10.0


def _out(array: npt.NDArray[np.float64]) -> FloatOrArray:
    return float(array) if array.ndim == 0 else array


# --- Geometry and calendering ---------------------------------------------------------------------


def porosity(
    areal_mass_mg_cm2: npt.ArrayLike, thickness_um: npt.ArrayLike, density_g_cm3: npt.ArrayLike
) -> FloatOrArray:
    """Porosity of a coating from its areal mass, thickness and theoretical density (Eq. 1).

    ε = 1 − ρ_bulk/ρ_theor = 1 − m_coating/(A_coating·d_coating·ρ_theor); with the mass per area m in
    mg/cm², d in µm and ρ in g/cm³ this is ε = 1 − 10·m/(d·ρ).

    *areal_mass_mg_cm2* is the whole dry coating (all solids, not just active material) per area,
    foil excluded; *thickness_um* is the coating alone, foil excluded. Raises DataError if the result is
    not in (0, 1), i.e. the coating would be at least as dense as its components.
    """
    fn = "porosity"
    m = check_array(fn, "areal_mass_mg_cm2", areal_mass_mg_cm2, POSITIVE)
    d = check_array(fn, "thickness_um", thickness_um, POSITIVE)
    rho = check_array(fn, "density_g_cm3", density_g_cm3, POSITIVE)
    # m [mg/cm²] / (d [µm] · ρ [g/cm³]) = (m/1000 g/cm²) / (d/1e4 cm · ρ g/cm³)
    eps = 1.0 - (m / _MG_PER_G) / ((d / _UM_PER_CM) * rho)
    with np.errstate(invalid="ignore"):
        impossible = eps <= 0
    if np.any(impossible):
        raise DataError(
            "The 'areal_mass_mg_cm2', 'thickness_um' and 'density_g_cm3' parameters of porosity give a "
            f"bulk density at or above the theoretical density (porosity {float(np.min(eps[impossible]))!r} <= 0) "
            f"for {int(np.count_nonzero(impossible))} value(s); check the mass, thickness or density."
        )
    return _out(eps)


def thickness_from_loading(
    active_loading_mg_cm2: npt.ArrayLike,
    porosity: npt.ArrayLike,
    density_g_cm3: npt.ArrayLike,
    active_fraction: npt.ArrayLike,
) -> FloatOrArray:
    """Dry coating thickness in µm that gives *porosity* at an active mass loading (Eq. 1 rearranged).

    d = m_AM/(w_AM·ρ_theor·(1 − ε)); in these units d[µm] = 10·m_AM/(w_AM·ρ·(1 − ε)). The paper
    computes its target thicknesses this way (Experimental Section, Calendering). For the graphite anode
    (w_AM = 0.94, ρ = 2.158 g/cm³) 8.2 mg/cm² at ε = 0.25 gives ≈ 53.9 µm and 11.2 mg/cm² at ε = 0.40
    gives ≈ 92.0 µm.
    """
    fn = "thickness_from_loading"
    m_am = check_array(fn, "active_loading_mg_cm2", active_loading_mg_cm2, POSITIVE)
    eps = check_array(fn, "porosity", porosity, OPEN_UNIT)
    rho = check_array(fn, "density_g_cm3", density_g_cm3, POSITIVE)
    w_am = check_array(fn, "active_fraction", active_fraction, HALF_OPEN_UNIT)
    thickness_cm = (m_am / _MG_PER_G) / (w_am * rho * (1.0 - eps))
    return _out(thickness_cm * _UM_PER_CM)


def compaction_rate(thickness_calendered_um: npt.ArrayLike, thickness_uncalendered_um: npt.ArrayLike) -> FloatOrArray:
    """Compaction rate Π = 1 − d_cal/d_uncal (Eq. 3, after Haselrieder et al., ECS Trans. 50 (2013) 59).

    Thicknesses are of the coating (foil excluded). Π is 0 for an uncalendered sheet; a calendered
    sheet thicker than before gives a negative value, which is returned as is (it may be measurement
    noise).
    """
    fn = "compaction_rate"
    d_cal = check_array(fn, "thickness_calendered_um", thickness_calendered_um, POSITIVE)
    d_uncal = check_array(fn, "thickness_uncalendered_um", thickness_uncalendered_um, POSITIVE)
    return _out(1.0 - d_cal / d_uncal)


def compaction_rate_from_porosity(
    porosity_uncalendered: npt.ArrayLike, porosity_calendered: npt.ArrayLike
) -> FloatOrArray:
    """Compaction rate from the porosities before and after calendering (Eq. 3 with Eq. 1).

    Calendering conserves the coating's mass per area, so by Eq. 1 d·(1 − ε) is constant and
    Π = 1 − d_cal/d_uncal = 1 − (1 − ε_uncal)/(1 − ε_cal).
    """
    fn = "compaction_rate_from_porosity"
    eps_uncal = check_array(fn, "porosity_uncalendered", porosity_uncalendered, OPEN_UNIT)
    eps_cal = check_array(fn, "porosity_calendered", porosity_calendered, OPEN_UNIT)
    return _out(1.0 - (1.0 - eps_uncal) / (1.0 - eps_cal))


def disc_area_cm2(diameter_mm: npt.ArrayLike) -> FloatOrArray:
    """Area of a round electrode or specimen in cm²: A = π·(d/2)², d in mm (10 mm per cm)."""
    d = check_array("disc_area_cm2", "diameter_mm", diameter_mm, POSITIVE)
    return _out(np.pi * (d / _MM_PER_CM / 2.0) ** 2)


# --- Ionic resistance and tortuosity --------------------------------------------------------------


def _macmullin(
    fn: str,
    r_ion_ohm: npt.ArrayLike,
    area_cm2: npt.ArrayLike,
    conductivity_s_cm: npt.ArrayLike,
    thickness_um: npt.ArrayLike,
) -> npt.NDArray[np.float64]:
    """N_M = R_ion·A·κ/(2d) with the inputs checked on behalf of *fn*."""
    r_ion = check_array(fn, "r_ion_ohm", r_ion_ohm, POSITIVE)
    area = check_array(fn, "area_cm2", area_cm2, POSITIVE)
    kappa = check_array(fn, "conductivity_s_cm", conductivity_s_cm, POSITIVE)
    d_cm = check_array(fn, "thickness_um", thickness_um, POSITIVE) / _UM_PER_CM
    return np.asarray(r_ion * area * kappa / (2.0 * d_cm))


def tortuosity(
    r_ion_ohm: npt.ArrayLike,
    area_cm2: npt.ArrayLike,
    conductivity_s_cm: npt.ArrayLike,
    porosity: npt.ArrayLike,
    thickness_um: npt.ArrayLike,
) -> FloatOrArray:
    """Tortuosity from a symmetric cell's ionic resistance (Eq. 2, after Landesfeind et al. 2016).

    τ = R_ion·A·κ·ε/(2d). *r_ion_ohm* is the ionic resistance of the whole symmetric cell (two
    identical electrodes), hence the 2; *area_cm2* the electrode area, *conductivity_s_cm* the
    electrolyte conductivity κ (350 µS/cm = 3.5e-4 S/cm in the paper), *thickness_um* the coating
    thickness d of one electrode.
    """
    eps = check_array("tortuosity", "porosity", porosity, OPEN_UNIT)
    n_m = _macmullin("tortuosity", r_ion_ohm, area_cm2, conductivity_s_cm, thickness_um)
    return _out(n_m * eps)


def ionic_resistance(
    tortuosity: npt.ArrayLike,
    area_cm2: npt.ArrayLike,
    conductivity_s_cm: npt.ArrayLike,
    porosity: npt.ArrayLike,
    thickness_um: npt.ArrayLike,
) -> FloatOrArray:
    """Ionic resistance in Ω of a symmetric cell of two identical electrodes (Eq. 2 solved for R_ion).

    R_ion = 2·d·τ/(A·κ·ε), the inverse of :func:`tortuosity`.
    """
    fn = "ionic_resistance"
    tau = check_array(fn, "tortuosity", tortuosity, POSITIVE)
    area = check_array(fn, "area_cm2", area_cm2, POSITIVE)
    kappa = check_array(fn, "conductivity_s_cm", conductivity_s_cm, POSITIVE)
    eps = check_array(fn, "porosity", porosity, OPEN_UNIT)
    d_cm = check_array(fn, "thickness_um", thickness_um, POSITIVE) / _UM_PER_CM
    return _out(2.0 * d_cm * tau / (area * kappa * eps))


def macmullin_number(
    r_ion_ohm: npt.ArrayLike,
    area_cm2: npt.ArrayLike,
    conductivity_s_cm: npt.ArrayLike,
    porosity: npt.ArrayLike,
    thickness_um: npt.ArrayLike,
) -> FloatOrArray:
    """MacMullin number N_M = τ/ε = R_ion·A·κ/(2d) (Landesfeind et al., J. Electrochem. Soc. 163 (2016) A1373).

    Same arguments as :func:`tortuosity`; *porosity* is checked although it cancels.
    """
    eps = check_array("macmullin_number", "porosity", porosity, OPEN_UNIT)
    n_m = _macmullin("macmullin_number", r_ion_ohm, area_cm2, conductivity_s_cm, thickness_um)
    return _out(n_m * np.ones_like(eps))


def modified_bruggeman(
    porosity: npt.ArrayLike,
    prefactor: float = constants.MODIFIED_BRUGGEMAN_PREFACTOR.value,
    alpha: float = constants.MODIFIED_BRUGGEMAN_ALPHA.value,
) -> FloatOrArray:
    """Tortuosity from porosity by the modified Bruggeman relation τ = a·ε^−α (Eq. 5).

    Defaults a = 2.3, α = 0.31 are those of Mayilvahanan et al., J. Electrochem. Soc. 168 (2021)
    070537, as quoted by the paper; ε = 0.25 gives τ ≈ 3.53 and ε = 0.40 gives τ ≈ 3.06.
    """
    fn = "modified_bruggeman"
    eps = check_array(fn, "porosity", porosity, OPEN_UNIT)
    a = check_array(fn, "prefactor", prefactor, POSITIVE)
    alpha_ = check_array(fn, "alpha", alpha, FINITE)
    return _out(a * eps ** (-alpha_))


def bruggeman(porosity: npt.ArrayLike, alpha: float = constants.BRUGGEMAN_ALPHA.value) -> FloatOrArray:
    """Tortuosity from porosity by the Bruggeman relation τ = ε^−α, α = 0.5 for spheres (Eq. 4).

    After Bruggeman, Ann. Phys. 416 (1935) 636, as used by the paper.
    """
    eps = check_array("bruggeman", "porosity", porosity, OPEN_UNIT)
    alpha_ = check_array("bruggeman", "alpha", alpha, FINITE)
    return _out(eps ** (-alpha_))


@dataclass(frozen=True, slots=True)
class BruggemanFit:
    """Result of :func:`fit_bruggeman`: τ = prefactor·ε^−alpha and how well it fits."""

    prefactor: float
    alpha: float
    r2: float
    """Coefficient of determination of the fitted τ (NaN if all measured τ are equal)."""
    rmse: float
    """Root mean squared error of the fitted τ."""
    n: int
    """Number of points fitted."""

    def predict(self, porosity: npt.ArrayLike) -> FloatOrArray:
        """Tortuosity the fitted relation gives at *porosity*."""
        return modified_bruggeman(porosity, self.prefactor, self.alpha)


def fit_bruggeman(porosity: npt.ArrayLike, tortuosity: npt.ArrayLike) -> BruggemanFit:
    """Fit τ = a·ε^−α (Eq. 5's form) to measured porosity–tortuosity pairs.

    Nonlinear least squares on τ itself (unweighted residuals a·ε^−α − τ, Levenberg–Marquardt),
    started from the log-linear OLS fit ln τ = ln a − α·ln ε. Needs at least 3 points and at least 2
    distinct porosities; porosities must be in (0, 1) and tortuosities > 0, without NaN.
    """
    fn = "fit_bruggeman"
    eps = np.ravel(check_array(fn, "porosity", porosity, OPEN_UNIT))
    tau = np.ravel(check_array(fn, "tortuosity", tortuosity, POSITIVE))
    if eps.shape != tau.shape:
        raise DataError(
            f"The 'porosity' and 'tortuosity' parameters of {fn} must have the same number of values. "
            f"Got {eps.size} and {tau.size} instead."
        )
    if np.isnan(eps).any() or np.isnan(tau).any():
        raise DataError(f"The 'porosity' and 'tortuosity' parameters of {fn} must not contain NaN.")
    if eps.size < 3:
        raise DataError(f"{fn} needs at least 3 (porosity, tortuosity) points. Got {eps.size} instead.")
    if np.unique(eps).size < 2:
        raise DataError(f"The 'porosity' parameter of {fn} must hold at least 2 distinct values. Got only {eps[0]!r}.")

    log_eps, log_tau = np.log(eps), np.log(tau)
    slope, intercept = np.polyfit(log_eps, log_tau, 1)

    def residuals(params: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.asarray(np.exp(params[0] - params[1] * log_eps) - tau, dtype=np.float64)

    result = optimize.least_squares(
        residuals, x0=np.array([intercept, -slope]), method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15
    )
    if not result.success:
        raise DataError(f"{fn} did not converge: {result.message}")
    log_a, alpha = (float(v) for v in result.x)
    fitted = np.exp(log_a - alpha * log_eps)
    ss_res = float(np.sum((tau - fitted) ** 2))
    ss_tot = float(np.sum((tau - tau.mean()) ** 2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")
    return BruggemanFit(
        prefactor=float(np.exp(log_a)),
        alpha=alpha,
        r2=r2,
        rmse=float(np.sqrt(ss_res / eps.size)),
        n=int(eps.size),
    )


# --- Blocking transmission-line impedance: glassline.eis.transmission_line_impedance (impedance, not
# electrode physics; re-exported here because the simulated cells use it as Eq. 11 of Landesfeind 2016).


# --- Capacity and rate capability -----------------------------------------------------------------


def areal_capacity(
    active_loading_mg_cm2: npt.ArrayLike,
    specific_capacity_mah_g: npt.ArrayLike = constants.ANODE.specific_capacity.value,
) -> FloatOrArray:
    """Areal capacity in mAh/cm² = active mass loading · specific capacity.

    The default 355 mAh/g is the graphite anode's (paper Table 3); 8.2–11.2 mg/cm² give ≈ 2.9–4.0
    mAh/cm².
    """
    fn = "areal_capacity"
    m_am = check_array(fn, "active_loading_mg_cm2", active_loading_mg_cm2, NON_NEGATIVE)
    q_spec = check_array(fn, "specific_capacity_mah_g", specific_capacity_mah_g, POSITIVE)
    return _out(m_am / _MG_PER_G * q_spec)


def gravimetric_capacity(capacity_mah: npt.ArrayLike, active_mass_mg: npt.ArrayLike) -> FloatOrArray:
    """Gravimetric capacity in mAh/g = capacity / active mass (paper: 'based on the active mass')."""
    fn = "gravimetric_capacity"
    capacity = check_array(fn, "capacity_mah", capacity_mah, NON_NEGATIVE)
    mass_g = check_array(fn, "active_mass_mg", active_mass_mg, POSITIVE) / _MG_PER_G
    return _out(capacity / mass_g)


def characteristic_time_h(
    thickness_um: npt.ArrayLike,
    porosity: npt.ArrayLike,
    tortuosity: npt.ArrayLike,
    diffusivity_cm2_s: npt.ArrayLike,
) -> FloatOrArray:
    """Characteristic time of ion diffusion through the electrode's pores, in hours.

    τ_c = L²·τ/(ε·D), the diffusion-time form of the electrolyte-in-pores term of Tian et al.,
    Nat. Commun. 10 (2019) 1933 (there with Bruggeman's ε^−3/2 in place of τ/ε; here the tortuosity τ
    is explicit, so D_eff = D·ε/τ). Assumptions: rate limited by diffusion in the electrolyte-filled pores only
    (electronic transport, solid-state diffusion and reaction kinetics, Tian's other terms, are
    neglected); L is the coating thickness and D the electrolyte's bulk diffusivity in cm²/s.
    """
    fn = "characteristic_time_h"
    length_cm = check_array(fn, "thickness_um", thickness_um, POSITIVE) / _UM_PER_CM
    eps = check_array(fn, "porosity", porosity, OPEN_UNIT)
    tau = check_array(fn, "tortuosity", tortuosity, POSITIVE)
    diffusivity = check_array(fn, "diffusivity_cm2_s", diffusivity_cm2_s, POSITIVE)
    return _out(length_cm**2 * tau / (eps * diffusivity) / _S_PER_H)


def rate_capability(
    c_rate: npt.ArrayLike,
    capacity_max: npt.ArrayLike,
    characteristic_time_h: npt.ArrayLike,
    n: npt.ArrayLike,
) -> FloatOrArray:
    """Capacity at a C-rate by the semi-empirical model of Tian et al., Nat. Commun. 10 (2019) 1933.

    Q(R) = Q_M·[1 − (R·τ_c)^n·(1 − exp(−(R·τ_c)^−n))], R the C-rate in 1/h, τ_c the characteristic
    time in h (see :func:`characteristic_time_h`), n > 0 the exponent of the high-rate fall-off (a fit
    parameter in Tian et al.; at R = 1/τ_c, Q has fallen to Q_M/e whatever n). Q is in the
    unit of *capacity_max*,
    tends to Q_M as R → 0 and to 0 as R → ∞, and falls monotonically in between.
    """
    fn = "rate_capability"
    rate = check_array(fn, "c_rate", c_rate, NON_NEGATIVE)
    q_max = check_array(fn, "capacity_max", capacity_max, NON_NEGATIVE)
    tau_c = check_array(fn, "characteristic_time_h", characteristic_time_h, POSITIVE)
    n_ = check_array(fn, "n", n, POSITIVE)
    with np.errstate(over="ignore", divide="ignore"):
        x = np.asarray((rate * tau_c) ** n_)
        regular = (x > 0) & np.isfinite(x)
        safe_x = np.where(regular, x, 1.0)
        # x·(1 − e^(−1/x)) rises from 0 (x → 0) to 1 (x → ∞); expm1 keeps its digits for large x.
        loss = np.where(regular, -safe_x * np.expm1(-1.0 / safe_x), np.where(np.isinf(x), 1.0, 0.0))
    loss = np.where(np.isnan(x), np.nan, loss)
    return _out(q_max * np.clip(1.0 - loss, 0.0, 1.0))
