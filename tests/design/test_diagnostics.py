"""Diagnostics checked by hand and against statsmodels; FDS curves and plots; the comparison line."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from issue_keys import ISSUE_KEYS
from scipy import stats

from glassline.design import (
    Design,
    DesignSpace,
    FdsCurve,
    PolynomialModel,
    fds_curve,
    full_factorial,
    optimal_design,
    plot_fds,
    variance_inflation,
)
from glassline.exceptions import DesignError
from glassline.spec import load_study


def test_two_by_two_factorial_by_hand() -> None:
    """2² factorial, linear model y = b0 + b1 x1 + b2 x2.

    X has rows (1, ±1, ±1), so X'X = 4·I₃ and (X'X)⁻¹ = I₃/4. On the square [-1, 1]², W = E[f f'] =
    diag(1, E[x1²], E[x2²]) = diag(1, 1/3, 1/3). Hence
    I = trace(W)/4 = (1 + 1/3 + 1/3)/4 = 5/12 ≈ 0.41667 and N·I = 4 · 5/12 = 5/3;
    det(X'X) = 4³ = 64, so D-efficiency = 100 · 64^(1/3) / 4 = 100 %;
    the prediction variance is (1 + x1² + x2²)/4, largest at a corner: 3/4, G-efficiency
    = 100 · p / (N · 3/4) = 100 %; its mean over the square is again 5/12.
    """
    design = full_factorial(DesignSpace.cube(2), levels=2, model="linear")
    report = design.diagnostics(compare_levels=None)
    assert report.runs == 4
    assert len(report.terms) == 3
    assert report.i_criterion == pytest.approx(5 / 12)
    assert report.n_i == pytest.approx(5 / 3)
    assert report.d_efficiency == pytest.approx(100.0)
    assert report.g_max_variance == pytest.approx(3 / 4)
    assert report.g_efficiency == pytest.approx(100.0)
    assert report.fds.mean == pytest.approx(5 / 12, rel=1e-3)
    assert report.vif == {"x1": pytest.approx(1.0), "x2": pytest.approx(1.0)}
    assert report.max_abs_correlation == pytest.approx(0.0)
    assert (report.lack_of_fit_df, report.pure_error_df, report.residual_df) == (1, 0, 1)


def test_power_matches_the_noncentral_f_by_hand() -> None:
    """Replicated 2² factorial (N = 8, p = 3, 5 residual df): c_jj = 1/8 for a main effect.
    An effect of 2σ means a coefficient of 1σ, noncentrality λ = 1² / (1/8) = 8."""
    design = full_factorial(DesignSpace.cube(2), levels=2, model="linear")
    doubled = Design(
        space=design.space, model=design.model, points=np.vstack([design.points] * 2), roles=("classical",) * 8
    )
    report = doubled.diagnostics(compare_levels=None, effect_size=2.0)
    expected = stats.ncf.sf(stats.f.ppf(0.95, 1, 5), 1, 5, 8.0)
    assert report.power["x1"] == pytest.approx(expected)
    assert 0.5 < expected < 0.8
    assert report.pure_error_df == 4


def test_vif_is_the_diagonal_of_the_inverse_correlation_matrix(rng: np.random.Generator) -> None:
    from statsmodels.stats.outliers_influence import variance_inflation_factor

    model = PolynomialModel(DesignSpace.cube(3), "quadratic")
    X = model.matrix(rng.uniform(-1, 1, (25, 3)))
    vif = variance_inflation(X, model.names)
    R = np.corrcoef(X[:, 1:], rowvar=False)
    assert list(vif.values()) == pytest.approx(list(np.diag(np.linalg.inv(R))))
    # statsmodels regresses column i on all the others, the intercept column included: same VIF
    for i, name in enumerate(model.names[1:], start=1):
        assert vif[name] == pytest.approx(variance_inflation_factor(X, i), rel=1e-8)


def test_electrode_design_report_and_comparison(electrode_study_path: Path) -> None:
    study = load_study(electrode_study_path)
    design = optimal_design(study, 17, seed=study.seed)
    report = design.diagnostics()
    payload = report.to_dict()
    assert set(payload) >= ISSUE_KEYS
    json.dumps(payload)  # JSON-ready
    assert payload["runs"] == 17
    assert payload["terms"] == 10
    assert payload["criterion"] == "i"
    assert payload["i_criterion"] <= 0.3222
    assert payload["max_abs_correlation"] < 0.3  # the paper's requirement
    assert payload["max_vif"] < 2.0
    # the comparison line is computed from the 4-level full factorial (64 runs)
    reference = full_factorial(study, levels=4)
    assert len(reference) == 64
    line = report.comparison.line if report.comparison else ""
    assert line == (
        f"17 runs instead of 64 (4-level full factorial): N·I {design.n_i:.2f} vs {64 * reference.i_value:.2f}"
    )
    assert f"{64 * reference.i_value:.2f}" == "5.98"
    assert any("N·I" in text for text in report.summary())


def test_fds_curve_from_100k_points_and_plots(tmp_path: Path) -> None:
    design = optimal_design(DesignSpace.cube(3), 17, seed=0)
    curve = fds_curve(design, n_points=100_000, seed=1)
    assert isinstance(curve, FdsCurve)
    assert len(curve.variance) == 100_000
    assert np.all(np.diff(curve.variance) >= 0)
    assert curve.mean == pytest.approx(design.i_value, rel=0.01)  # average variance = I
    assert 0.0 <= curve.fraction_above(curve.median) <= 0.5
    summary = curve.to_dict(points=11)
    assert len(summary["curve"]["fraction"]) == 11
    grid = full_factorial(DesignSpace.cube(3), levels=3)
    for suffix in (".png", ".svg"):
        path = tmp_path / f"fds{suffix}"
        plot_fds({"I-optimal": curve, "3³ factorial": fds_curve(grid)}, path)
        assert path.stat().st_size > 1000
    assert (tmp_path / "fds.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
    with pytest.raises(DesignError, match="at least 100,000"):
        fds_curve(design, n_points=1000)
    with pytest.raises(DesignError, match=r"\.png, \.svg"):
        plot_fds(curve, tmp_path / "fds.gif")


def test_g_max_includes_the_corners() -> None:
    design = optimal_design(DesignSpace.cube(2), 6, seed=0)
    corners = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    report = design.diagnostics(compare_levels=None)
    assert report.g_max_variance >= design.prediction_variance(corners).max() - 1e-12
    assert math.isclose(report.g_efficiency, 100 * 6 / (6 * report.g_max_variance))
