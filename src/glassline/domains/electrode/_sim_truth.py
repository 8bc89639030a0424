"""The hidden ground truth of the simulated anode line: what each configuration really is.

The paper's data are not public, so glassline's reference case is a simulated line whose truth is
known. Geometry, Eq. 2 and the rate model are the paper's and the literature's physics
(:mod:`glassline.domains.electrode.physics`); everything else here is a **modelling assumption**,
chosen so that the truth reproduces the paper's qualitative findings (Haghi et al. 2023, sections
"Data Preprocessing and Analysis", "Adhesion", "Ionic Resistance and Tortuosity", "Discharge
Capacities") with magnitudes in the ranges the paper and the literature report. Each law below says
what it assumes, why, and which source it leans on (see ``shared/DOMAIN-FACTS.md``).

Inputs are the study's factors in physics units: active mass loading ``m`` [mg/cm²], second-dryer
temperature ``t`` [°C], calendered porosity ``eps`` as a fraction. :func:`true_properties` takes study
units (porosity in %) for tables and tests.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from glassline.domains.electrode import constants, physics

__all__ = [
    "C_RATES",
    "AdhesionLaw",
    "RateLaw",
    "TortuosityLaw",
    "TruthModel",
    "UncalenderedPorosityLaw",
    "c_rate_label",
    "evaluate_truth",
    "true_properties",
]

Array = npt.NDArray[np.float64]

#: Discharge rates of the rate-capability test (paper: 0.1 C to 5 C; 0.1, 1, 3 and 5 C reported).
C_RATES: tuple[float, ...] = (0.1, 1.0, 3.0, 5.0)

_M_LOW = constants.ACTIVE_MASS_LOADING_RANGE.low
_M_HIGH = constants.ACTIVE_MASS_LOADING_RANGE.high
_T_LOW = constants.SECOND_DRYER_TEMPERATURE_RANGE.low
_T_HIGH = constants.SECOND_DRYER_TEMPERATURE_RANGE.high
_EPS_LOW = constants.POROSITY_RANGE.low
_EPS_HIGH = constants.POROSITY_RANGE.high


def c_rate_label(rate: float) -> str:
    """Column-name form of a C-rate: 0.1 → '0_1c', 5 → '5c'."""
    return f"{rate:g}".replace(".", "_") + "c"


def _sigmoid(x: Array) -> Array:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * x)))


@dataclass(frozen=True, slots=True)
class AdhesionLaw:
    """Pull-off adhesion strength [kPa] of uncalendered and calendered anodes (modelling assumption).

    Uncalendered, ``σ_u(m, T) = σ_ref·(m/m_ref)^(−β)·exp(−P_thin − P_mig − P_cold)``:

    - ``(m/m_ref)^(−β)``: thicker coatings hold less binder at the foil and carry more stress, so
      adhesion falls with loading (paper Fig. 7: "followed by the mass loading, exhibiting a similar
      trend"; Westphal et al. and Jaiser et al. 2017 in DOMAIN-FACTS).
    - ``P_thin = A_thin·w(m)·S((T − T_thin)/ΔT_thin)``, with ``w(m)`` the weight of thin films
      (a logistic step below ~8.7 mg/cm²) and ``S`` the logistic function: at the lowest loading the
      pore-emptying phase happens in the first dryer, so a low second-dryer temperature is best and
      changes above 55 °C matter little (paper, Fig. 2 discussion, citing Jaiser et al. 2017).
    - ``P_mig = A_mig·(1 − w)·M(m, T)``, ``M = (m/m_high)^k·exp((T − T_high)/θ_mig)``: binder migration
      grows with the drying rate (≈ vapour pressure, exponential in T) and with film thickness (Baunach
      et al. 2015; Jaiser et al. 2017); worst at the highest loading and temperature (paper Fig. 2).
    - ``P_cold = A_cold·(1 − w)·exp(−(T − T_low)/θ_cold)``: for thicker films a cool second dryer
      pushes the end of pore emptying into the hotter third dryer, where fast final drying migrates
      binder; with ``P_mig`` this gives the 55–60 °C local optimum at intermediate loadings (paper
      Fig. 2; Westphal et al.: an optimum drying condition for each loading).

    Calendered, ``σ_c = σ_u·g_cal·exp(b·(ε_ref − ε))``: calendering presses particles onto the foil
    and raises adhesion, the more the lower the final porosity (DOMAIN-FACTS: calendering raises
    adhesion; paper Fig. 7: porosity dominant, low porosity better). ``b`` is chosen so porosity
    explains the largest share of the variance over the box, then loading, then temperature.
    """

    reference_kpa: float = 280.0
    reference_loading_mg_cm2: float = _M_LOW
    loading_exponent: float = 0.6
    thin_film_loading_mg_cm2: float = 8.7
    thin_film_width_mg_cm2: float = 0.2
    thin_film_penalty: float = 0.11
    thin_film_onset_c: float = 52.5
    thin_film_width_c: float = 1.2
    migration_penalty: float = 0.5
    migration_loading_exponent: float = 4.0
    migration_scale_c: float = 2.8
    cold_penalty: float = 0.2
    cold_scale_c: float = 5.0
    calendering_gain: float = 1.25
    porosity_sensitivity: float = 3.5
    porosity_reference: float = _EPS_HIGH

    def migration_index(self, m: npt.ArrayLike, t: npt.ArrayLike) -> Array:
        """Binder-migration intensity M(m, T) in (0, 1] over the box; 1 at 11.2 mg/cm² and 65 °C."""
        m_, t_ = np.asarray(m, dtype=float), np.asarray(t, dtype=float)
        return np.asarray(
            (m_ / _M_HIGH) ** self.migration_loading_exponent * np.exp((t_ - _T_HIGH) / self.migration_scale_c)
        )

    def thin_film_weight(self, m: npt.ArrayLike) -> Array:
        """w(m): 1 for films whose pore emptying ends in the first dryer, 0 for thick films."""
        return _sigmoid((self.thin_film_loading_mg_cm2 - np.asarray(m, dtype=float)) / self.thin_film_width_mg_cm2)

    def uncalendered(self, m: npt.ArrayLike, t: npt.ArrayLike) -> Array:
        """σ_u in kPa."""
        m_, t_ = np.asarray(m, dtype=float), np.asarray(t, dtype=float)
        w = self.thin_film_weight(m_)
        p_thin = self.thin_film_penalty * w * _sigmoid((t_ - self.thin_film_onset_c) / self.thin_film_width_c)
        p_mig = self.migration_penalty * (1.0 - w) * self.migration_index(m_, t_)
        p_cold = self.cold_penalty * (1.0 - w) * np.exp(-(t_ - _T_LOW) / self.cold_scale_c)
        scale = (m_ / self.reference_loading_mg_cm2) ** (-self.loading_exponent)
        return np.asarray(self.reference_kpa * scale * np.exp(-p_thin - p_mig - p_cold))

    def calendered(self, m: npt.ArrayLike, t: npt.ArrayLike, eps: npt.ArrayLike) -> Array:
        """σ_c in kPa at calendered porosity *eps* (fraction)."""
        eps_ = np.asarray(eps, dtype=float)
        gain = self.calendering_gain * np.exp(self.porosity_sensitivity * (self.porosity_reference - eps_))
        return np.asarray(self.uncalendered(m, t) * gain)


@dataclass(frozen=True, slots=True)
class UncalenderedPorosityLaw:
    """Porosity after drying, before calendering (modelling assumption).

    ``ε_u = ε_0 + s_T·(T − T_mid)``: a dried graphite anode has 40–60 % porosity (DOMAIN-FACTS); a
    hotter second dryer ends film shrinkage a little earlier and leaves a slightly more open structure
    (assumption, in line with the paper's remark that drying temperature affects microstructure and
    thickness while the mass loading is unaffected, section "Electrode Thickness and Mass Loading").
    """

    base: float = 0.50
    temperature_slope_per_c: float = 0.002

    def __call__(self, m: npt.ArrayLike, t: npt.ArrayLike) -> Array:
        t_ = np.asarray(t, dtype=float) + 0.0 * np.asarray(m, dtype=float)
        return np.asarray(self.base + self.temperature_slope_per_c * (t_ - 0.5 * (_T_LOW + _T_HIGH)))


@dataclass(frozen=True, slots=True)
class TortuosityLaw:
    """Tortuosity of the pore network, as EIS in blocking electrolyte sees it (modelling assumption).

    ``τ = a·ε^−α · (m/m_mid)^k_m · exp(−k_T·(T − T_mid)/ΔT·(m/m_mid)^q)``:

    - ``a·ε^−α`` is the modified Bruggeman relation (paper Eq. 5, a = 2.3, α = 0.31, Mayilvahanan et al.
      2021): at the centre of the box the truth *is* Eq. 5, and at any fixed loading and temperature a
      fit of τ = a·ε^−α over porosity returns α = 0.31 exactly (paper Fig. 10).
    - ``(m/m_mid)^k_m``: "high mass loading adversely affected the tortuosity" (paper, Fig. 9 d, f).
      k_m is small enough that porosity stays the first driver of R_ion, as the paper's XGBoost ranks it.
    - the temperature factor: electrodes dried hotter show lower ionic resistance, "particularly
      noticeable for anodes with higher mass loading" (paper, Fig. 3 discussion: microstructure and
      pore structure change with temperature and loading).
    """

    prefactor: float = constants.MODIFIED_BRUGGEMAN_PREFACTOR.value
    alpha: float = constants.MODIFIED_BRUGGEMAN_ALPHA.value
    loading_exponent: float = 0.2
    temperature_coefficient: float = 0.05
    temperature_loading_exponent: float = 2.0

    def __call__(self, m: npt.ArrayLike, t: npt.ArrayLike, eps: npt.ArrayLike) -> Array:
        m_rel = np.asarray(m, dtype=float) / (0.5 * (_M_LOW + _M_HIGH))
        t_rel = (np.asarray(t, dtype=float) - 0.5 * (_T_LOW + _T_HIGH)) / (0.5 * (_T_HIGH - _T_LOW))
        base = np.asarray(physics.modified_bruggeman(eps, self.prefactor, self.alpha))
        temperature = np.exp(-self.temperature_coefficient * t_rel * m_rel**self.temperature_loading_exponent)
        return np.asarray(base * m_rel**self.loading_exponent * temperature)


@dataclass(frozen=True, slots=True)
class RateLaw:
    """Full-cell discharge capacity at a C-rate (physics plus modelling assumptions).

    ``Q(R) = Q_max·U_diff·U_dep·U_acc·U_bind`` with ``Q_max = η·min(Q_cathode, Q_anode)`` (cathode-
    limited at N:P 1.2; η the share left after first-cycle lithium loss to the SEI, assumption):

    - ``U_diff``: Tian et al., Nat. Commun. 10 (2019) 1933, with τ_c = L²·τ/(ε·D) from
      :func:`physics.characteristic_time_h`. D is an *effective* diffusivity lumping the whole coin
      cell's transport limits (assumption, calibrated so 5 C keeps ≈ 15–45 % of the capacity); n is
      Tian's exponent. Over this box this term alone makes loading, not porosity, the main driver.
    - ``U_dep = 1/(1 + (R/R_lim(ε))^s)``, ``R_lim = R_ref·((ε − ε_c)/(ε_ref − ε_c))^p``: electrolyte
      depletion in low-porosity electrodes (salt reservoir and pore throats shrink as calendering
      closes the pore network towards a percolation threshold ε_c). Modelling assumption after
      Gallagher et al., J. Electrochem. Soc. 163 (2016) A138 and Heubner et al., Adv. Energy Mater. 10
      (2020) 1902523; it is what makes porosity dominant at 5 C, as the paper finds (Fig. 13).
    - ``U_acc = 1 − a·exp(−(ε − ε_low)/w)``: a little capacity is inaccessible even at 0.1 C in the
      densest electrodes (closed pores, poorer wetting); this makes porosity the main driver of the
      gravimetric capacity at 0.1 C (paper Fig. 14a). Assumption.
    - ``U_bind = exp(−c·(R/5)·(m/m_high)^k·exp((T − T_high)/θ))``: binder migration leaves a binder-
      rich top layer that slows lithium uptake at high rate, more for hotter drying and thicker films
      (Morasch et al., cited by the paper; Baunach et al. 2015). It outweighs the lower tortuosity of
      hotter-dried electrodes, giving the paper's "similar [inverse] trend ... with the drying
      temperature" at 5 C (Fig. 13), third after porosity and loading. Assumption.
    """

    diffusivity_cm2_s: float = 0.6e-6
    tian_exponent: float = 1.25
    depletion_rate_reference: float = 21.7
    percolation_porosity: float = 0.15
    depletion_exponent: float = 1.38
    depletion_sharpness: float = 2.0
    access_loss: float = 0.03
    access_scale: float = 0.06
    binder_rate_penalty: float = 0.3
    binder_skin_scale_c: float = 7.5
    binder_skin_loading_exponent: float = 2.0
    first_cycle_efficiency: float = 0.92

    def utilization(
        self,
        rate: float,
        thickness_um: npt.ArrayLike,
        eps: npt.ArrayLike,
        tortuosity: npt.ArrayLike,
        m: npt.ArrayLike,
        t: npt.ArrayLike,
    ) -> Array:
        """U(R) = U_diff·U_dep·U_acc·U_bind, the share of Q_max delivered at C-rate *rate*."""
        eps_ = np.asarray(eps, dtype=float)
        tau_c = physics.characteristic_time_h(thickness_um, eps_, tortuosity, self.diffusivity_cm2_s)
        u_diff = np.asarray(physics.rate_capability(rate, 1.0, tau_c, self.tian_exponent))
        reach = np.clip((eps_ - self.percolation_porosity) / (_EPS_HIGH - self.percolation_porosity), 1e-6, None)
        r_lim = self.depletion_rate_reference * reach**self.depletion_exponent
        u_dep = 1.0 / (1.0 + (rate / r_lim) ** self.depletion_sharpness)
        u_acc = 1.0 - self.access_loss * np.exp(-(eps_ - _EPS_LOW) / self.access_scale)
        skin = (np.asarray(m, dtype=float) / _M_HIGH) ** self.binder_skin_loading_exponent * np.exp(
            (np.asarray(t, dtype=float) - _T_HIGH) / self.binder_skin_scale_c
        )
        u_bind = np.exp(-self.binder_rate_penalty * (rate / 5.0) * skin)
        return np.asarray(u_diff * u_dep * u_acc * u_bind)


@dataclass(frozen=True, slots=True)
class TruthModel:
    """All laws of the hidden truth, with the physical constants they use."""

    adhesion: AdhesionLaw = field(default_factory=AdhesionLaw)
    porosity_uncalendered: UncalenderedPorosityLaw = field(default_factory=UncalenderedPorosityLaw)
    tortuosity: TortuosityLaw = field(default_factory=TortuosityLaw)
    rate: RateLaw = field(default_factory=RateLaw)
    density_g_cm3: float = constants.ANODE.theoretical_density.value
    active_fraction: float = constants.ANODE.active_fraction
    anode_area_cm2: float = constants.ANODE_DISC_AREA.value
    cathode_area_cm2: float = constants.CATHODE_DISC_AREA.value
    conductivity_s_cm: float = constants.ELECTROLYTE_CONDUCTIVITY_S_CM.value
    anode_specific_capacity_mah_g: float = constants.ANODE.specific_capacity.value
    cathode_specific_capacity_mah_g: float = constants.CATHODE.specific_capacity.value
    np_ratio: float = constants.NP_RATIO.value

    def matched_cathode_loading(self, m: npt.ArrayLike) -> Array:
        """Cathode active loading [mg/cm²] giving N:P 1.2 against anode loading *m* (paper: 14.27 … 19.49)."""
        anode = np.asarray(physics.areal_capacity(m, self.anode_specific_capacity_mah_g))
        return np.asarray(anode / self.np_ratio / self.cathode_specific_capacity_mah_g * 1e3)

    def as_dict(self) -> dict[str, Any]:
        """Every parameter, for truth.json."""
        return asdict(self)


def evaluate_truth(
    m: npt.ArrayLike,
    t: npt.ArrayLike,
    eps: npt.ArrayLike,
    *,
    model: TruthModel | None = None,
    eps_uncalendered: npt.ArrayLike | None = None,
    cathode_loading_mg_cm2: npt.ArrayLike | None = None,
    density_g_cm3: npt.ArrayLike | None = None,
    adhesion_factor: npt.ArrayLike = 1.0,
) -> dict[str, Array]:
    """Noiseless properties at loading *m* [mg/cm²], temperature *t* [°C], porosity *eps* [fraction].

    Optional overrides let the simulator evaluate a configuration as it was really made: its own
    uncalendered porosity, the cathode it was paired with, the true density of its material lot and a
    lot factor on adhesion. Returns arrays keyed by column names with units.
    """
    model = model or TruthModel()
    m_, t_, eps_ = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (m, t, eps)))
    rho = model.density_g_cm3 if density_g_cm3 is None else np.asarray(density_g_cm3, dtype=float)
    eps_u = model.porosity_uncalendered(m_, t_) if eps_uncalendered is None else np.asarray(eps_uncalendered)
    eps_u = np.broadcast_to(np.asarray(eps_u, dtype=float), m_.shape)
    area, kappa = model.anode_area_cm2, model.conductivity_s_cm
    lot = np.asarray(adhesion_factor, dtype=float)

    d_cal = np.asarray(physics.thickness_from_loading(m_, eps_, rho, model.active_fraction))
    d_uncal = np.asarray(physics.thickness_from_loading(m_, eps_u, rho, model.active_fraction))
    tau_cal = model.tortuosity(m_, t_, eps_)
    tau_uncal = model.tortuosity(m_, t_, eps_u)
    out: dict[str, Array] = {
        "porosity_uncalendered_pct": 100.0 * eps_u,
        "dry_mass_loading_mg_cm2": m_ / model.active_fraction,
        "thickness_uncalendered_um": d_uncal,
        "thickness_calendered_um": d_cal,
        "compaction_rate": np.asarray(physics.compaction_rate_from_porosity(eps_u, eps_)),
        "adhesion_uncalendered_kpa": model.adhesion.uncalendered(m_, t_) * lot,
        "adhesion_calendered_kpa": model.adhesion.calendered(m_, t_, eps_) * lot,
        "tortuosity_calendered": tau_cal,
        "r_ion_calendered_ohm": np.asarray(physics.ionic_resistance(tau_cal, area, kappa, eps_, d_cal)),
        "tortuosity_uncalendered": tau_uncal,
        "r_ion_uncalendered_ohm": np.asarray(physics.ionic_resistance(tau_uncal, area, kappa, eps_u, d_uncal)),
        "anode_active_mass_mg": m_ * area,
    }
    cathode = model.matched_cathode_loading(m_) if cathode_loading_mg_cm2 is None else cathode_loading_mg_cm2
    q_cathode = (
        np.asarray(physics.areal_capacity(cathode, model.cathode_specific_capacity_mah_g)) * model.cathode_area_cm2
    )
    q_anode = np.asarray(physics.areal_capacity(m_, model.anode_specific_capacity_mah_g)) * area
    q_max = model.rate.first_cycle_efficiency * np.minimum(q_cathode, q_anode)
    out["capacity_limit_mah"] = q_max
    for rate in C_RATES:
        label = c_rate_label(rate)
        capacity = q_max * model.rate.utilization(rate, d_cal, eps_, tau_cal, m_, t_)
        out[f"discharge_capacity_{label}_mah"] = capacity
        out[f"gravimetric_capacity_{label}_mah_g"] = np.asarray(
            physics.gravimetric_capacity(capacity, out["anode_active_mass_mg"])
        )
    return {key: np.broadcast_to(np.asarray(value, dtype=float), m_.shape).copy() for key, value in out.items()}


def true_properties(
    mass_loading: npt.ArrayLike,
    drying_temperature: npt.ArrayLike,
    porosity: npt.ArrayLike,
    *,
    model: TruthModel | None = None,
) -> pd.DataFrame:
    """The noiseless truth in study units (porosity in %), one row per point, as a DataFrame.

    For tests and plots over the design box: ``true_properties(9.7, 57.5, 32.5)``.
    """
    m, t, eps_pct = np.broadcast_arrays(
        *(np.atleast_1d(np.asarray(v, dtype=float)) for v in (mass_loading, drying_temperature, porosity))
    )
    values = evaluate_truth(m.ravel(), t.ravel(), eps_pct.ravel() / 100.0, model=model)
    frame = pd.DataFrame({"mass_loading": m.ravel(), "drying_temperature": t.ravel(), "porosity": eps_pct.ravel()})
    return pd.concat([frame, pd.DataFrame(values)], axis=1)
