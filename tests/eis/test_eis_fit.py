"""The blocking-TLM fit: R_ion recovered on known spectra, the flag logic, the window, the options."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glassline.eis import (
    GAMMA_BOUNDS,
    EISFit,
    fit_spectrum,
    frequency_sweep,
    initial_guess,
    simulate_spectrum,
)
from glassline.exceptions import DataError

F = frequency_sweep(1e4, 0.1, 10)  # the paper's protocol: 51 points
TYPICAL = {"r_sep": 20.0, "r_ion": 200.0, "q": 2e-3, "gamma": 0.88}


def draw(rng: np.random.Generator, gamma_high: float = 1.0) -> dict[str, float]:
    """Parameters in the ranges of real blocking spectra (fipt project), γ up to 1."""
    return {
        "r_sep": rng.uniform(9.0, 34.0),
        "r_ion": rng.uniform(76.0, 335.0),
        "q": rng.uniform(1.1e-3, 3.8e-3),
        "gamma": rng.uniform(0.84, gamma_high),
    }


def test_frequency_sweep_is_the_paper_protocol() -> None:
    assert F.size == 51
    assert F[0] == pytest.approx(1e4)
    assert F[-1] == pytest.approx(0.1)
    assert frequency_sweep(1e3, 0.1, 10).size == 41


def test_r_ion_within_2_percent_for_95_percent_of_known_spectra(rng: np.random.Generator) -> None:
    errors, flags = [], []
    for _ in range(40):
        truth = draw(rng)
        fit = fit_spectrum(F, simulate_spectrum(F, **truth, noise=0.005, rng=rng))
        errors.append(abs(fit.r_ion / truth["r_ion"] - 1))
        flags.append(fit.flag)
    errors_ = np.asarray(errors)
    assert np.mean(errors_ <= 0.02) >= 0.95, np.sort(errors_)[-5:]
    assert np.median(errors_) < 0.01
    assert sum(bool(f) for f in flags) <= 2, [f for f in flags if f]


def test_noise_free_spectrum_is_recovered_exactly() -> None:
    fit = fit_spectrum(F, simulate_spectrum(F, **TYPICAL))
    for name, value in TYPICAL.items():
        assert getattr(fit, name) == pytest.approx(value, rel=1e-5), name
    assert fit.residual < 1e-6
    assert fit.trusted
    assert fit.unweighted.r_ion == pytest.approx(fit.weighted.r_ion, rel=1e-5)


def test_ideal_capacitance_gamma_one_is_not_flagged(rng: np.random.Generator) -> None:
    fit = fit_spectrum(F, simulate_spectrum(F, **{**TYPICAL, "gamma": 1.0}, noise=0.005, rng=rng))
    assert fit.gamma == pytest.approx(1.0, abs=0.01)
    assert fit.r_ion == pytest.approx(200.0, rel=0.02)
    assert fit.flag == ""


def test_disagreement_beyond_tolerance_is_flagged(rng: np.random.Generator) -> None:
    z = simulate_spectrum(F, **TYPICAL, noise=0.02, rng=rng)
    loose = fit_spectrum(F, z, tolerance=0.5, max_residual=0.1)
    gap = abs(loose.weighted.r_ion - loose.unweighted.r_ion) / loose.r_ion
    assert 0 < gap < 0.5
    assert "differ" not in loose.flag
    strict = fit_spectrum(F, z, tolerance=gap / 2, max_residual=0.1)
    assert "weighted and unweighted R_ion differ by" in strict.flag
    assert f"tolerance {100 * gap / 2:g} %" in strict.flag
    assert strict.r_ion == loose.r_ion  # the flag never changes the numbers


def test_too_few_points_in_the_window_is_flagged() -> None:
    fit = fit_spectrum(F, simulate_spectrum(F, **TYPICAL), fmin=300.0, fmax=1000.0)
    assert fit.n_points == 6
    assert "too few points: 6 in the window 300–1000 Hz (need ≥ 10)" in fit.flag
    assert math.isfinite(fit.r_ion)  # still fitted, for inspection


def test_empty_window_is_flagged_not_raised() -> None:
    fit = fit_spectrum(F, simulate_spectrum(F, **TYPICAL), fmin=2e4)
    assert fit.n_points == 0
    assert math.isnan(fit.r_ion)
    assert math.isnan(fit.fmin_hz)
    assert "too few points: 0" in fit.flag


def test_window_selects_points_and_is_reported(rng: np.random.Generator) -> None:
    z = simulate_spectrum(F, **TYPICAL, noise=0.005, rng=rng)
    fit = fit_spectrum(F, z, fmin=0.1, fmax=1000.0)
    assert fit.n_points == 41
    assert (fit.fmin_hz, fit.fmax_hz) == pytest.approx((0.1, 1000.0))
    assert fit.r_ion == pytest.approx(200.0, rel=0.02)
    full = fit_spectrum(F, z)
    assert (full.n_points, full.fmax_hz) == (51, pytest.approx(1e4))


def test_wrong_model_gives_a_high_residual_flag() -> None:
    # a large contact arc in the middle of the spectrum: R0-TLMQ0 cannot describe it
    z = simulate_spectrum(F, **TYPICAL, contact_ohm=150.0, contact_peak_hz=50.0)
    fit = fit_spectrum(F, z)
    assert fit.residual > 0.03
    assert "relative residual" in fit.flag


def test_gamma_at_its_lower_bound_is_flagged() -> None:
    fit = fit_spectrum(F, simulate_spectrum(F, **{**TYPICAL, "gamma": 0.2}))
    assert fit.gamma == pytest.approx(GAMMA_BOUNDS[0], abs=1e-6)
    assert "weighted fit ended on a bound: gamma=0.5" in fit.flag


def test_resistance_at_zero_is_flagged() -> None:
    fit = fit_spectrum(F, simulate_spectrum(F, **{**TYPICAL, "r_sep": 1e-9}))
    assert fit.r_sep < 1e-3
    assert "fit ended on a bound: r_sep=" in fit.flag


def test_file_storing_minus_im_z_is_flagged() -> None:
    z = simulate_spectrum(F, **TYPICAL)
    fit = fit_spectrum(F, z.conjugate())
    assert "does the file store −Im Z?" in fit.flag


def test_a_failed_fit_is_flagged_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    from impedance.models.circuits import CustomCircuit

    def fail(self: object, *args: object, **kwargs: object) -> None:
        raise RuntimeError("Optimal parameters not found: The maximum number of function evaluations is exceeded.")

    monkeypatch.setattr(CustomCircuit, "fit", fail)
    fit = fit_spectrum(F, simulate_spectrum(F, **TYPICAL))
    assert math.isnan(fit.r_ion)
    assert not fit.unweighted.ok
    assert "unweighted fit failed: Optimal parameters not found" in fit.flag
    assert "weighted fit failed" in fit.flag


@pytest.mark.parametrize("report", ["weighted", "unweighted"])
def test_report_choice(report: str, rng: np.random.Generator) -> None:
    z = simulate_spectrum(F, **TYPICAL, noise=0.01, rng=rng)
    fit = fit_spectrum(F, z, report=report)  # type: ignore[arg-type]
    assert fit.reported == report
    assert fit.r_ion == getattr(fit, report).r_ion
    assert fit.residual == getattr(fit, report).residual


def test_auto_reports_the_smaller_relative_residual(rng: np.random.Generator) -> None:
    fit = fit_spectrum(F, simulate_spectrum(F, **TYPICAL, noise=0.01, rng=rng))
    smaller = min((fit.unweighted, fit.weighted), key=lambda c: c.residual)
    assert fit.r_ion == smaller.r_ion
    assert fit.reported == "weighted"  # the weighted fit minimises exactly this residual


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"fmin": 0.0}, "fmin must be a frequency > 0 Hz"),
        ({"fmax": -1.0}, "fmax must be a frequency > 0 Hz"),
        ({"fmin": 100.0, "fmax": 10.0}, "fmin must be below fmax"),
        ({"tolerance": 0.0}, "tolerance must be a fraction > 0"),
        ({"max_residual": float("nan")}, "max_residual must be a fraction > 0"),
        ({"min_points": 0}, "min_points must be ≥ 1"),
        ({"report": "best"}, "report must be 'auto', 'weighted' or 'unweighted'"),
    ],
)
def test_invalid_options_raise(options: dict[str, object], message: str) -> None:
    with pytest.raises(DataError, match=message):
        fit_spectrum(F, simulate_spectrum(F, **TYPICAL), **options)  # type: ignore[arg-type]


def test_invalid_data_raise() -> None:
    z = simulate_spectrum(F, **TYPICAL)
    with pytest.raises(DataError, match="expected each frequency once"):
        fit_spectrum(np.r_[F[:-1], F[0]], z)
    with pytest.raises(DataError, match="expected a frequency > 0 Hz"):
        fit_spectrum(-F, z)


def test_predict_and_row() -> None:
    z = simulate_spectrum(F, **TYPICAL)
    fit = fit_spectrum(F, z)
    np.testing.assert_allclose(fit.predict(F), z, rtol=1e-5)
    row = fit.as_row()
    for column in ("r_ion", "r_sep", "q", "gamma", "residual", "flag", "r_ion_unweighted", "r_ion_weighted"):
        assert column in row
    assert row["n_points"] == 51
    assert isinstance(fit, EISFit)


@settings(max_examples=60, deadline=None)
@given(
    r_sep=st.floats(0.1, 1000.0),
    r_ion=st.floats(1.0, 1e4),
    q=st.floats(1e-6, 1e-1),
    gamma=st.floats(0.5, 1.0),
    fmax=st.sampled_from([1e3, 1e4, 1e5]),
)
def test_initial_guess_is_finite_and_inside_the_bounds(
    r_sep: float, r_ion: float, q: float, gamma: float, fmax: float
) -> None:
    f = frequency_sweep(fmax, 0.1, 10)
    guess = initial_guess(f, simulate_spectrum(f, r_sep=r_sep, r_ion=r_ion, q=q, gamma=gamma))
    assert all(math.isfinite(v) and v > 0 for v in guess)
    assert GAMMA_BOUNDS[0] <= guess[3] < GAMMA_BOUNDS[1]


@settings(max_examples=60, deadline=None)
@given(
    r_sep=st.floats(5.0, 50.0),
    r_ion=st.floats(50.0, 500.0),
    q=st.floats(5e-4, 5e-3),
    gamma=st.floats(0.8, 1.0),
    fmax=st.sampled_from([1e3, 1e4]),
)
def test_initial_guess_is_near_the_truth_for_realistic_cells(
    r_sep: float, r_ion: float, q: float, gamma: float, fmax: float
) -> None:
    f = frequency_sweep(fmax, 0.1, 10)
    guess = initial_guess(f, simulate_spectrum(f, r_sep=r_sep, r_ion=r_ion, q=q, gamma=gamma))
    assert 0.2 <= guess[1] / r_ion <= 5  # close enough for the local fit to converge
    assert 0.5 <= guess[2] / q <= 2


def test_uncalendered_contact_arc_fitted_on_1khz_to_100mhz(rng: np.random.Generator) -> None:
    """The paper's uncalendered practice: the window keeps the contact arc out of R_ion."""
    windowed, full = [], []
    for _ in range(16):
        truth = draw(rng)
        contact = {"contact_ohm": rng.uniform(10.0, 40.0), "contact_peak_hz": 10 ** rng.uniform(4.0, 4.5)}
        z = simulate_spectrum(F, **truth, **contact, noise=0.005, rng=rng)
        windowed.append(abs(fit_spectrum(F, z, fmin=0.1, fmax=1000.0).r_ion / truth["r_ion"] - 1))
        full.append(abs(fit_spectrum(F, z).r_ion / truth["r_ion"] - 1))
    assert np.median(windowed) < 0.015
    assert np.max(windowed) < 0.05
    assert np.median(full) > 2 * np.median(windowed)
