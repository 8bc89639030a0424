"""The blocking transmission line as a function: equal to impedance.py's R0-TLMQ0, its limits, its input checks."""

from __future__ import annotations

import numpy as np
import pytest

from glassline.eis import transmission_line_impedance
from glassline.exceptions import DataError

TLM_CASES = [
    (20.0, 200.0, 2e-3, 0.9),
    (9.0, 76.0, 1.1e-3, 0.84),
    (34.0, 329.0, 3.8e-3, 0.91),
    (5.0, 150.0, 1e-3, 1.0),
]


@pytest.mark.parametrize(("r_sep", "r_ion", "q", "gamma"), TLM_CASES)
def test_transmission_line_matches_impedance_py(r_sep: float, r_ion: float, q: float, gamma: float) -> None:
    from impedance.models.circuits import CustomCircuit

    f = np.logspace(5, -3, 81)
    circuit = CustomCircuit("R0-TLMQ0", initial_guess=[r_sep, r_ion, q, gamma])
    with pytest.warns(UserWarning, match="initial parameters"):
        reference = circuit.predict(f)
    z = transmission_line_impedance(f, r_sep, r_ion, q, gamma)
    np.testing.assert_allclose(z, reference, rtol=1e-10, atol=0)


def test_transmission_line_limits_for_an_ideal_capacitor() -> None:
    r_sep, r_ion, q = 10.0, 150.0, 1e-3
    # γ = 1: Re Z → R_sep + R_ion/3 as f → 0, and Z → R_sep as f → ∞.
    low = transmission_line_impedance(1e-7, r_sep, r_ion, q, 1.0)
    assert low.real == pytest.approx(r_sep + r_ion / 3.0, rel=1e-8)
    assert low.imag < 0
    high = transmission_line_impedance(1e9, r_sep, r_ion, q, 1.0)
    assert high.real == pytest.approx(r_sep, rel=1e-3)


def test_transmission_line_is_stable_at_extreme_frequencies() -> None:
    f = np.logspace(-9, 15, 49)
    z = transmission_line_impedance(f, 10.0, 1e4, 1.0, 0.8)
    assert np.all(np.isfinite(z))
    assert np.all(np.diff(z.real) <= 1e-9 * z.real[:-1])  # Re Z falls with frequency


def test_scalars_give_a_complex_and_arrays_broadcast() -> None:
    assert type(transmission_line_impedance(1.0, 10.0, 100.0, 1e-3, 0.9)) is complex
    grid = transmission_line_impedance(np.array([1.0, 10.0]), 0.0, np.array([[50.0], [100.0]]), 1e-3, 0.9)
    assert isinstance(grid, np.ndarray)
    assert grid.shape == (2, 2)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((0.0, 10.0, 100.0, 1e-3, 0.9), r"'frequency_hz' parameter .* must be finite and > 0\. Got 0\.0"),
        ((1.0, -1.0, 100.0, 1e-3, 0.9), r"'r_sep_ohm' parameter .* must be finite and >= 0"),
        ((1.0, 10.0, 100.0, 1e-3, 1.5), r"'gamma' parameter .* must be finite and in \(0, 1\]"),
        ((1.0, 10.0, [1.0, np.inf], 1e-3, 0.9), r"'r_ion_ohm' parameter .* Got inf"),
        ((1.0, 10.0, "many", 1e-3, 0.9), r"'r_ion_ohm' parameter .* must be a number or an array of numbers"),
    ],
)
def test_impossible_input_names_the_parameter(arguments: tuple[object, ...], message: str) -> None:
    with pytest.raises(DataError, match=message):
        transmission_line_impedance(*arguments)  # type: ignore[arg-type]
