"""Nyquist plots: a PNG with data and fit, also for a window, a flag, or no fit at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from glassline.eis import check_spectrum, fit_spectrum, frequency_sweep, plot_nyquist, simulate_spectrum

F = frequency_sweep(1e4, 0.1, 10)
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "options",
    [{}, {"fmin": 0.1, "fmax": 1000.0}, {"fmin": 300.0, "fmax": 1000.0}, {"fmin": 2e4}],
    ids=["full", "window", "flagged", "empty-window"],
)
def test_plot_with_fit(tmp_path: Path, options: dict[str, float]) -> None:
    z = simulate_spectrum(F, r_sep=20.0, r_ion=200.0, q=2e-3, gamma=0.9, contact_ohm=20.0, noise=0.005, rng=1)
    spectrum = check_spectrum(F, z, source="cell_01.csv")
    fit = fit_spectrum(F, z, **options)
    path = plot_nyquist(spectrum, fit, tmp_path / "sub" / "cell_01.png")
    assert path.read_bytes()[:8] == PNG


def test_plot_without_fit(tmp_path: Path) -> None:
    z = simulate_spectrum(F, r_sep=20.0, r_ion=200.0, q=2e-3, gamma=0.9)
    path = plot_nyquist(check_spectrum(F, z), None, tmp_path / "a.png", title="raw")
    assert path.read_bytes()[:8] == PNG
