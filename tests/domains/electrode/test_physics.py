"""Tests for glassline.domains.electrode.physics: known values, properties, reference implementations."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import optimize

from glassline.domains.electrode import constants as c
from glassline.domains.electrode import physics as p
from glassline.exceptions import DataError

RHO = float(c.ANODE.theoretical_density)  # 2.158 g/cm³
W_AM = c.ANODE.active_fraction  # 0.94
AREA = float(c.ANODE_DISC_AREA)  # 1.767 cm²
KAPPA = float(c.ELECTROLYTE_CONDUCTIVITY_S_CM)  # 3.5e-4 S/cm

porosities = st.floats(0.05, 0.9)
loadings = st.floats(1.0, 30.0)
densities = st.floats(1.0, 6.0)
fractions = st.floats(0.5, 1.0)
thicknesses = st.floats(5.0, 500.0)
positives = st.floats(1e-3, 1e3)


# --- Known values from the paper's equations ------------------------------------------------------


def test_porosity_of_a_weighed_sheet() -> None:
    # Eq. 1: 1000 mg of coating on 100 cm² at 80 µm: ρ_bulk = 1 g/(100 cm²·0.008 cm) = 1.25 g/cm³,
    # ε = 1 − 1.25/2.158 = 0.420759...
    assert p.porosity(1000.0 / 100.0, 80.0, RHO) == pytest.approx(1 - 1.25 / 2.158, rel=1e-14)
    assert p.porosity(10.0, 80.0, RHO) == pytest.approx(0.4207599629, rel=1e-9)


@pytest.mark.parametrize(
    ("loading", "eps", "expected_um"),
    [
        # 10·8.2/(0.94·2.158·0.75) = 82/1.521390 = 53.898 µm
        (8.2, 0.25, 53.8981),
        # 10·11.2/(0.94·2.158·0.60) = 112/1.217112 = 92.021 µm
        (11.2, 0.40, 92.0211),
    ],
)
def test_thickness_at_the_corners_of_the_design_box(loading: float, eps: float, expected_um: float) -> None:
    assert p.thickness_from_loading(loading, eps, RHO, W_AM) == pytest.approx(expected_um, abs=1e-4)


def test_tortuosity_from_a_symmetric_cell() -> None:
    # Eq. 2: 249 Ω · 1.767 cm² · 3.5e-4 S/cm · 0.3 / (2 · 70e-4 cm) = 0.0461984/0.014 = 3.29987
    assert p.tortuosity(249.0, 1.767, 3.5e-4, 0.3, 70.0) == pytest.approx(3.2998725, rel=1e-12)
    # N_M = τ/ε = 3.29987/0.3 = 10.9996
    assert p.macmullin_number(249.0, 1.767, 3.5e-4, 0.3, 70.0) == pytest.approx(10.9995750, rel=1e-9)
    assert p.ionic_resistance(3.2998725, 1.767, 3.5e-4, 0.3, 70.0) == pytest.approx(249.0, rel=1e-12)


@pytest.mark.parametrize(
    ("eps", "bruggeman", "modified"),
    [
        # 0.25^−0.5 = 2;   2.3·0.25^−0.31 = 2.3·e^(0.31·1.386294) = 2.3·1.536875 = 3.5348
        (0.25, 2.0, 3.534813),
        # 0.40^−0.5 = 1.5811;  2.3·0.40^−0.31 = 2.3·e^(0.31·0.916291) = 2.3·1.328499 = 3.0555
        (0.40, 1.581139, 3.055549),
    ],
)
def test_bruggeman_relations(eps: float, bruggeman: float, modified: float) -> None:
    assert p.bruggeman(eps) == pytest.approx(bruggeman, abs=1e-6)
    assert p.modified_bruggeman(eps) == pytest.approx(modified, abs=1e-6)
    assert p.bruggeman(eps, alpha=0.31) * 2.3 == pytest.approx(modified, abs=1e-6)


def test_compaction_rate_known_values() -> None:
    # Eq. 3: 80 µm calendered to 60 µm: Π = 1 − 60/80 = 0.25.
    assert p.compaction_rate(60.0, 80.0) == pytest.approx(0.25)
    # Porosity 0.5 → 1/3 at constant mass: Π = 1 − 0.5/(2/3) = 0.25.
    assert p.compaction_rate_from_porosity(0.5, 1.0 / 3.0) == pytest.approx(0.25)


def test_capacities_known_values() -> None:
    # 8.2 mg/cm² · 355 mAh/g = 2.911 mAh/cm²; 11.2 · 355 = 3.976 mAh/cm².
    assert p.areal_capacity(8.2) == pytest.approx(2.911)
    assert p.areal_capacity(11.2) == pytest.approx(3.976)
    assert p.areal_capacity(10.0, 170.0) == pytest.approx(1.7)
    # 5.0 mAh from 14.0 mg of active material: 5.0/0.014 = 357.14 mAh/g.
    assert p.gravimetric_capacity(5.0, 14.0) == pytest.approx(357.142857, rel=1e-8)
    # π·(1.5/2)² = 1.76715 cm²
    assert p.disc_area_cm2(15.0) == pytest.approx(1.767146, abs=1e-6)


def test_characteristic_time_and_rate_capability_known_values() -> None:
    # L = 70 µm = 7e-3 cm: (7e-3)²·3.3/(0.3·3e-6) = 1.617e-4/9e-7 = 179.67 s = 0.049907 h
    assert p.characteristic_time_h(70.0, 0.3, 3.3, 3e-6) == pytest.approx(179.6667 / 3600, rel=1e-5)
    # R·τ_c = 1, n = 1: Q = Q_M·[1 − (1 − e^−1)] = Q_M·e^−1
    assert p.rate_capability(1.0, 2.0, 1.0, 1.0) == pytest.approx(2.0 * math.exp(-1.0), rel=1e-14)
    assert p.rate_capability(0.0, 2.0, 1.0, 0.5) == 2.0


def test_design_box_gives_the_ionic_resistances_in_the_domain_facts() -> None:
    # With the modified Bruggeman relation, the box corners give R_ion of about 165–335 Ω.
    loading = np.array([8.2, 8.2, 11.2, 11.2])
    eps = np.array([0.25, 0.40, 0.25, 0.40])
    d = p.thickness_from_loading(loading, eps, RHO, W_AM)
    r_ion = p.ionic_resistance(p.modified_bruggeman(eps), AREA, KAPPA, eps, d)
    assert np.all((r_ion > 160.0) & (r_ion < 340.0))
    assert np.argmax(r_ion) == 2  # thick and dense
    assert np.argmin(r_ion) == 1  # thin and open


# --- Scalars in, scalars out; arrays broadcast ----------------------------------------------------


def test_scalars_give_floats_and_arrays_broadcast() -> None:
    assert type(p.porosity(10.0, 80.0, RHO)) is float
    out = p.thickness_from_loading(np.array([[8.2], [11.2]]), np.array([0.25, 0.3, 0.4]), RHO, W_AM)
    assert isinstance(out, np.ndarray)
    assert out.shape == (2, 3)
    assert p.thickness_from_loading([8.2, 11.2], 0.3, RHO, W_AM).shape == (2,)


def test_nan_propagates_as_a_missing_value() -> None:
    out = p.porosity(np.array([10.0, np.nan]), 80.0, RHO)
    assert not np.isnan(out[0])
    assert np.isnan(out[1])
    assert np.isnan(p.rate_capability(np.nan, 1.0, 1.0, 1.0))


# --- Properties -----------------------------------------------------------------------------------


@given(loadings, porosities, densities, fractions)
def test_porosity_thickness_round_trip(loading: float, eps: float, rho: float, w: float) -> None:
    d = p.thickness_from_loading(loading, eps, rho, w)
    assert p.porosity(loading / w, d, rho) == pytest.approx(eps, rel=1e-10, abs=1e-12)


@given(positives, st.floats(0.1, 10.0), st.floats(1e-5, 1e-1), porosities, thicknesses)
def test_tortuosity_ionic_resistance_round_trip(r_ion: float, area: float, kappa: float, eps: float, d: float) -> None:
    tau = p.tortuosity(r_ion, area, kappa, eps, d)
    assert p.ionic_resistance(tau, area, kappa, eps, d) == pytest.approx(r_ion, rel=1e-12)
    assert p.macmullin_number(r_ion, area, kappa, eps, d) == pytest.approx(tau / eps, rel=1e-12)


@given(loadings, densities, fractions, porosities, porosities)
def test_compaction_rate_from_thickness_equals_porosity_form(
    loading: float, rho: float, w: float, eps_a: float, eps_b: float
) -> None:
    eps_uncal, eps_cal = max(eps_a, eps_b), min(eps_a, eps_b)
    d_uncal = p.thickness_from_loading(loading, eps_uncal, rho, w)
    d_cal = p.thickness_from_loading(loading, eps_cal, rho, w)
    from_thickness = p.compaction_rate(d_cal, d_uncal)
    assert from_thickness == pytest.approx(p.compaction_rate_from_porosity(eps_uncal, eps_cal), abs=1e-12)
    assert 0.0 <= from_thickness + 1e-12 < 1.0


@given(st.lists(loadings, min_size=2, max_size=8), st.lists(porosities, min_size=2, max_size=8))
def test_thickness_rises_with_loading_and_porosity(loading: list[float], eps: list[float]) -> None:
    d_by_loading = p.thickness_from_loading(np.sort(loading), 0.3, RHO, W_AM)
    d_by_porosity = p.thickness_from_loading(9.2, np.sort(eps), RHO, W_AM)
    assert np.all(np.diff(d_by_loading) >= 0)
    assert np.all(np.diff(d_by_porosity) >= 0)


@given(st.lists(porosities, min_size=2, max_size=8))
def test_bruggeman_tortuosity_falls_with_porosity(eps: list[float]) -> None:
    eps_sorted = np.sort(eps)
    for tau in (p.bruggeman(eps_sorted), p.modified_bruggeman(eps_sorted)):
        assert np.all(np.diff(tau) <= 0)
        assert np.all(tau > 1.0)


@given(
    st.lists(st.floats(0.0, 100.0), min_size=2, max_size=10),
    st.floats(0.0, 500.0),
    st.floats(1e-3, 10.0),
    st.floats(0.2, 2.0),
)
def test_rate_capability_falls_with_c_rate_and_stays_in_range(
    rates: list[float], q_max: float, tau_c: float, n: float
) -> None:
    q = p.rate_capability(np.sort(rates), q_max, tau_c, n)
    assert np.all((q >= 0.0) & (q <= q_max))
    assert np.all(np.diff(q) <= 1e-12 * max(q_max, 1.0))


def test_rate_capability_limits() -> None:
    assert p.rate_capability(1e-9, 3.0, 1.0, 1.0) == pytest.approx(3.0, rel=1e-8)
    assert p.rate_capability(1e9, 3.0, 1.0, 1.0) == pytest.approx(0.0, abs=1e-8)
    # x = (R·τ_c)^n overflows to inf: the capacity is 0, without a warning.
    assert p.rate_capability(1e300, 3.0, 1e300, 2.0) == 0.0


@given(thicknesses, porosities, st.floats(1.0, 10.0))
def test_characteristic_time_grows_with_thickness_and_falls_with_porosity(d: float, eps: float, tau: float) -> None:
    t = p.characteristic_time_h(np.array([d, 2 * d]), eps, tau, 3e-6)
    assert t[1] == pytest.approx(4 * t[0])
    assert p.characteristic_time_h(d, min(eps * 1.1, 0.95), tau, 3e-6) < p.characteristic_time_h(d, eps, tau, 3e-6)


# --- Fitting the Bruggeman relation ---------------------------------------------------------------


def test_fit_bruggeman_recovers_noiseless_parameters_like_log_linear_ols() -> None:
    import statsmodels.api as sm

    eps = np.linspace(0.25, 0.40, 7)
    tau = 2.3 * eps**-0.31
    ols = sm.OLS(np.log(tau), sm.add_constant(np.log(eps))).fit()
    a_ols, alpha_ols = math.exp(ols.params[0]), -ols.params[1]
    slope, intercept = np.polyfit(np.log(eps), np.log(tau), 1)

    fit = p.fit_bruggeman(eps, tau)
    assert fit.prefactor == pytest.approx(2.3, abs=1e-8)
    assert fit.alpha == pytest.approx(0.31, abs=1e-8)
    assert fit.prefactor == pytest.approx(a_ols, abs=1e-8)
    assert fit.alpha == pytest.approx(alpha_ols, abs=1e-8)
    assert (fit.prefactor, fit.alpha) == pytest.approx((math.exp(intercept), -slope), abs=1e-8)
    assert fit.r2 == pytest.approx(1.0, abs=1e-12)
    assert fit.rmse == pytest.approx(0.0, abs=1e-12)
    assert fit.n == 7
    np.testing.assert_allclose(fit.predict(eps), tau, rtol=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fit_bruggeman_agrees_with_curve_fit_on_noisy_data(seed: int) -> None:
    rng = np.random.default_rng(seed)
    eps = rng.uniform(0.25, 0.40, 12)
    tau = 2.3 * eps**-0.31 + rng.normal(0.0, 0.05, eps.size)

    def model(x: np.ndarray, a: float, alpha: float) -> np.ndarray:
        return a * x**-alpha

    (a_ref, alpha_ref), _ = optimize.curve_fit(model, eps, tau, p0=[2.0, 0.5])
    fit = p.fit_bruggeman(eps, tau)
    assert fit.prefactor == pytest.approx(a_ref, rel=1e-6)
    assert fit.alpha == pytest.approx(alpha_ref, rel=1e-6, abs=1e-8)
    residual = tau - fit.predict(eps)
    assert fit.rmse == pytest.approx(float(np.sqrt(np.mean(residual**2))))
    assert 0.0 < fit.r2 < 1.0


def test_fit_bruggeman_r2_is_nan_for_constant_tortuosity() -> None:
    fit = p.fit_bruggeman([0.2, 0.3, 0.4], [2.0, 2.0, 2.0])
    assert fit.alpha == pytest.approx(0.0, abs=1e-10)
    assert math.isnan(fit.r2)


@pytest.mark.parametrize(
    ("eps", "tau", "match"),
    [
        ([0.25, 0.40], [3.5, 3.0], "at least 3"),
        ([0.3, 0.3, 0.3], [3.5, 3.4, 3.3], "2 distinct"),
        ([0.25, 0.3, 0.4], [3.5, -1.0, 3.0], "'tortuosity'"),
        ([0.25, 0.3, 1.4], [3.5, 3.3, 3.0], "'porosity'"),
        ([0.25, 0.3, 0.4], [3.5, 3.3], "same number"),
        ([0.25, np.nan, 0.4], [3.5, 3.3, 3.0], "NaN"),
    ],
)
def test_fit_bruggeman_rejects_bad_data(eps: list[float], tau: list[float], match: str) -> None:
    with pytest.raises(DataError, match=match):
        p.fit_bruggeman(eps, tau)


# --- Bad input ------------------------------------------------------------------------------------

BAD_INPUTS: list[tuple[Callable[..., Any], dict[str, Any], str]] = [
    (p.porosity, {"areal_mass_mg_cm2": 10.0, "thickness_um": 0.0, "density_g_cm3": RHO}, "thickness_um"),
    (p.porosity, {"areal_mass_mg_cm2": -1.0, "thickness_um": 80.0, "density_g_cm3": RHO}, "areal_mass"),
    (p.porosity, {"areal_mass_mg_cm2": 10.0, "thickness_um": 80.0, "density_g_cm3": 0.0}, "density_g_cm3"),
    (p.porosity, {"areal_mass_mg_cm2": 20.0, "thickness_um": 80.0, "density_g_cm3": RHO}, "theoretical"),
    (
        p.thickness_from_loading,
        {"active_loading_mg_cm2": 8.2, "porosity": 1.0, "density_g_cm3": RHO, "active_fraction": W_AM},
        "'porosity'",
    ),
    (
        p.thickness_from_loading,
        {"active_loading_mg_cm2": 8.2, "porosity": [0.3, -0.1], "density_g_cm3": RHO, "active_fraction": W_AM},
        "'porosity'",
    ),
    (
        p.thickness_from_loading,
        {"active_loading_mg_cm2": 8.2, "porosity": 0.3, "density_g_cm3": RHO, "active_fraction": 94.0},
        "active_fraction",
    ),
    (
        p.thickness_from_loading,
        {"active_loading_mg_cm2": np.inf, "porosity": 0.3, "density_g_cm3": RHO, "active_fraction": W_AM},
        "active_loading_mg_cm2",
    ),
    (p.compaction_rate, {"thickness_calendered_um": -5.0, "thickness_uncalendered_um": 80.0}, "calendered"),
    (
        p.compaction_rate_from_porosity,
        {"porosity_uncalendered": 40.0, "porosity_calendered": 0.3},
        "porosity_uncalendered",
    ),
    (
        p.tortuosity,
        {"r_ion_ohm": 0.0, "area_cm2": AREA, "conductivity_s_cm": KAPPA, "porosity": 0.3, "thickness_um": 70.0},
        "r_ion_ohm",
    ),
    (
        p.tortuosity,
        {"r_ion_ohm": 249.0, "area_cm2": AREA, "conductivity_s_cm": KAPPA, "porosity": 30.0, "thickness_um": 70.0},
        "'porosity'",
    ),
    (
        p.ionic_resistance,
        {"tortuosity": 3.0, "area_cm2": -1.0, "conductivity_s_cm": KAPPA, "porosity": 0.3, "thickness_um": 70.0},
        "area_cm2",
    ),
    (
        p.macmullin_number,
        {"r_ion_ohm": 249.0, "area_cm2": AREA, "conductivity_s_cm": 0.0, "porosity": 0.3, "thickness_um": 70.0},
        "conductivity_s_cm",
    ),
    (p.bruggeman, {"porosity": 0.0}, "'porosity'"),
    (p.modified_bruggeman, {"porosity": 0.3, "prefactor": -2.3}, "prefactor"),
    (p.disc_area_cm2, {"diameter_mm": 0.0}, "diameter_mm"),
    (p.areal_capacity, {"active_loading_mg_cm2": -8.2}, "active_loading_mg_cm2"),
    (p.gravimetric_capacity, {"capacity_mah": 5.0, "active_mass_mg": 0.0}, "active_mass_mg"),
    (
        p.characteristic_time_h,
        {"thickness_um": 70.0, "porosity": 0.3, "tortuosity": 3.0, "diffusivity_cm2_s": 0.0},
        "diffusivity_cm2_s",
    ),
    (p.rate_capability, {"c_rate": -1.0, "capacity_max": 1.0, "characteristic_time_h": 1.0, "n": 1.0}, "c_rate"),
    (p.rate_capability, {"c_rate": 1.0, "capacity_max": 1.0, "characteristic_time_h": 1.0, "n": 0.0}, "'n'"),
    (
        p.transmission_line_impedance,
        {"frequency_hz": [1.0, 0.0], "r_sep_ohm": 10.0, "r_ion_ohm": 100.0, "q": 1e-3, "gamma": 0.9},
        "frequency_hz",
    ),
    (
        p.transmission_line_impedance,
        {"frequency_hz": 1.0, "r_sep_ohm": 10.0, "r_ion_ohm": 100.0, "q": 1e-3, "gamma": 1.5},
        "gamma",
    ),
    (p.porosity, {"areal_mass_mg_cm2": "ten", "thickness_um": 80.0, "density_g_cm3": RHO}, "areal_mass"),
]


@pytest.mark.parametrize(
    ("function", "kwargs", "match"), BAD_INPUTS, ids=[f"{f.__name__}-{m}" for f, _, m in BAD_INPUTS]
)
def test_bad_input_raises_data_error_naming_the_parameter(
    function: Callable[..., Any], kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(DataError, match=match) as info:
        function(**kwargs)
    assert isinstance(info.value, ValueError)
    assert function.__name__ in str(info.value)


def test_error_message_counts_bad_values_in_arrays() -> None:
    with pytest.raises(DataError, match=r"2 such values, e\.g\. -0\.1"):
        p.bruggeman([0.3, -0.1, 1.2])
