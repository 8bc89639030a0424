"""Lin-KK per point, the automatic window, calibrated flags and accuracy on the real-looking set."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from glassline.eis import (
    ARTEFACTS,
    FLAG_LIMITS,
    fit_folder,
    fit_spectrum,
    frequency_sweep,
    frequency_window,
    lin_kk,
    read_spectrum,
    simulate_real_looking,
    simulate_spectrum,
)
from glassline.exceptions import DataError

DATA = Path(__file__).parent / "data"
TYPICAL = {"r_sep": 15.0, "r_ion": 150.0, "q": 2e-3, "gamma": 0.92}
SWEEP = frequency_sweep(3e5, 0.1, 10)

#: each bad kind → a word its flag must carry (the flags say why)
WHY = {
    "contact": "misses a feature",
    "loop": "inductive loop",
    "truncated": "truncated",
    "noisy": "noisy",
    "drift": "fail Lin-KK",
}


@pytest.fixture(scope="module")
def real_looking() -> dict[str, list[tuple[np.ndarray, np.ndarray, dict[str, float], object]]]:
    """8 good spectra and 3 of each bad kind, fitted once for the module."""
    rng = np.random.default_rng(424242)
    out: dict[str, list[tuple[np.ndarray, np.ndarray, dict[str, float], object]]] = {}
    for kind in ARTEFACTS:
        rows = []
        for _ in range(8 if kind == "good" else 3):
            f, z, truth = simulate_real_looking(kind, rng)  # type: ignore[arg-type]
            rows.append((f, z, truth, fit_spectrum(f, z)))
        out[kind] = rows
    return out


def test_lin_kk_residuals_equal_impedance_py_at_the_same_m() -> None:
    """The closed-form residuals are impedance.py's linKK residuals (run at glassline's M, under numpy's
    1.25 print options: its eval of numpy reprs fails otherwise)."""
    from impedance.validation import linKK

    z = simulate_spectrum(SWEEP, **TYPICAL, noise=0.005, inductance_h=1e-6, rng=1)
    check = lin_kk(SWEEP, z)
    with contextlib.redirect_stdout(io.StringIO()), np.printoptions(legacy="1.25"):
        _, _, _, res_real, res_imag = linKK(SWEEP, z, c=None, max_M=check.m, fit_type="complex", add_cap=True)
    np.testing.assert_allclose(check.residual_real, res_real, atol=1e-12)
    np.testing.assert_allclose(check.residual_imag, res_imag, atol=1e-12)
    assert not check.failed.any()
    assert 0.003 < check.noise < 0.008  # estimates the 0.5 % noise


def test_lin_kk_marks_a_point_that_breaks_causality() -> None:
    z = simulate_spectrum(SWEEP, **TYPICAL, noise=0.003, rng=2)
    z[40] = z[40] * 1.08  # 8 % off at one point, nothing else changed
    check = lin_kk(SWEEP, z)
    assert check.failed[40]
    assert check.failed.sum() <= 3
    assert check.max_real > check.threshold


def test_window_drops_the_inductive_tail_of_a_simulated_cell() -> None:
    z = simulate_spectrum(SWEEP, **TYPICAL, noise=0.002, inductance_h=1e-6, rng=3)
    positive = z.imag > 0
    assert positive[:3].all(), "the simulated cable inductance makes the top frequencies inductive"
    window = frequency_window(SWEEP, z)
    assert window.inductive[positive].all()
    assert window.inductive.sum() > positive.sum()  # and the points the inductance still dominates
    assert not window.inductive[SWEEP < 100].any()
    fit = fit_spectrum(SWEEP, z)
    assert fit.fmax_hz < SWEEP[positive].min()
    assert fit.n_inductive == window.inductive.sum()
    assert fit.n_points + fit.n_inductive + fit.n_non_kk == SWEEP.size
    assert abs(fit.r_ion / TYPICAL["r_ion"] - 1) < 0.02
    assert not fit.flag


def test_window_drops_the_inductive_tail_of_impedance_py_example_data() -> None:
    spectrum = read_spectrum(DATA / "impedance_example.csv")
    fit = fit_spectrum(spectrum.frequency_hz, spectrum.z)
    points = fit.points()
    inductive = points["im_z"] > 0
    assert inductive.sum() == 9
    assert (points.loc[inductive, "dropped"] == "inductive").all()
    assert fit.fmax_hz < points.loc[inductive, "frequency_hz"].min()
    assert fit.n_points == int(points["fitted"].sum())
    # a lithium-ion cell, not a blocking electrode: the flags must say the model does not describe it
    assert "misses a feature" in fit.flag


def test_the_window_respects_the_requested_range() -> None:
    z = simulate_spectrum(SWEEP, **TYPICAL, noise=0.003, inductance_h=1e-6, rng=4)
    fit = fit_spectrum(SWEEP, z, fmin=0.5, fmax=1e3)
    assert fit.fmin_hz >= 0.5
    assert fit.fmax_hz <= 1e3
    assert fit.n_outside == int(((SWEEP < 0.5) | (SWEEP > 1e3)).sum())
    assert fit.n_inductive == 0  # the tail lies outside the range already
    points = fit.points()
    assert points.loc[SWEEP > 1e3, "kk_res_real"].isna().all()  # Lin-KK ran on the range only


def test_validate_false_fits_every_point_of_the_range() -> None:
    z = simulate_spectrum(SWEEP, **TYPICAL, noise=0.003, inductance_h=1e-6, rng=5)
    fit = fit_spectrum(SWEEP, z, validate=False)
    assert fit.n_points == SWEEP.size
    assert fit.kk is None


def test_good_real_looking_spectra_are_accurate_and_rarely_flagged(real_looking: dict) -> None:
    errors = [abs(fit.r_ion / truth["r_ion"] - 1) for _, _, truth, fit in real_looking["good"]]
    assert np.median(errors) <= 0.02
    assert max(errors) < 0.05
    flagged = [fit.flag for *_, fit in real_looking["good"] if fit.flag]
    assert len(flagged) <= 1, flagged
    for f, z, _, fit in real_looking["good"]:
        inductive = z.imag > 0
        assert fit.window.inductive[inductive & (f > 1e4)].all()  # the cable tail is cut off
        assert fit.n_inductive >= (inductive & (f > 1e4)).sum()
        assert fit.kk_noise < FLAG_LIMITS["noise"]
        assert fit.misfit < FLAG_LIMITS["misfit"]


@pytest.mark.parametrize("kind", sorted(WHY))
def test_every_bad_kind_is_flagged_with_its_reason(real_looking: dict, kind: str) -> None:
    for *_, fit in real_looking[kind]:
        assert fit.flag, f"{kind} not flagged"
        assert WHY[kind] in fit.flag, fit.flag


def test_drift_points_are_marked_and_not_fitted(real_looking: dict) -> None:
    for *_, fit in real_looking["drift"]:
        points = fit.points()
        failed = points[points["kk_failed"]]
        assert len(failed) >= 3
        assert (failed["frequency_hz"] < 10).all()  # the drift lives below its 1-10 Hz corner
        assert not failed["fitted"].any()
        assert fit.n_non_kk == len(failed)


def test_simulate_real_looking_rejects_an_unknown_kind() -> None:
    with pytest.raises(DataError, match="kind must be one of good, contact"):
        simulate_real_looking("bent", 0)  # type: ignore[arg-type]


def test_fit_folder_states_window_lin_kk_and_sign(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    folder = tmp_path / "cells"
    folder.mkdir()
    for i in range(2):
        f, z, _ = simulate_real_looking("good", rng)
        lines = ["freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm"] + [
            f"{a:.10g},{b.real:.10g},{-b.imag:.10g}" for a, b in zip(f, z, strict=True)
        ]
        (folder / f"c{i}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "c2.csv").write_text(  # −Im Z stored with a header that says Im Z: the data decide
        "f,Zreal,Zimag\n" + "".join(f"{a:.10g},{b.real:.10g},{-b.imag:.10g}\n" for a, b in zip(f, z, strict=True)),
        encoding="utf-8",
    )
    points = tmp_path / "points.csv"
    table = fit_folder(folder, processes=1, points=points)
    old = ["file", "r_ion", "r_sep", "q", "gamma", "residual", "flag", "reported"]
    assert list(table.columns[: len(old)]) == old
    for column in ("n_total", "n_dropped_inductive", "n_dropped_non_kk", "kk_noise", "kk_max_res_real", "imag_stored"):
        assert column in table.columns
    assert list(table["imag_stored"]) == ["-Im Z", "-Im Z", "-Im Z"]
    assert list(table["imag_basis"]) == ["header", "header", "data"]
    assert "the header says the file stores Im Z" in table["flag"].iloc[2]
    assert (table["n_dropped_inductive"] > 0).all()
    assert table.loc[0, "n_points"] + table.loc[0, "n_dropped"] == table.loc[0, "n_total"]
    per_point = pd.read_csv(points)
    assert len(per_point) == table["n_total"].sum()
    assert set(per_point["file"]) == {"c0.csv", "c1.csv", "c2.csv"}
    assert {"kk_res_real", "kk_res_imag", "kk_failed", "fitted", "dropped"} <= set(per_point.columns)
    assert (per_point["fitted"] == per_point["dropped"].isna()).all()
