"""Spectra with known parameters, for tests, benchmarks and the simulated line.

Impedances come from impedance.py's own circuits (``R0-TLMQ0``, and ``R0-p(R1,CPE1)-TLMQ0`` when a
contact arc is added), so what the fit recovers is checked against the library that fits it.
"""

from __future__ import annotations

import math
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt
from impedance.models.circuits import CustomCircuit

from glassline.eis._fit import CIRCUIT
from glassline.exceptions import DataError

__all__ = ["ARTEFACTS", "CONTACT_CIRCUIT", "Artefact", "frequency_sweep", "simulate_real_looking", "simulate_spectrum"]

CONTACT_CIRCUIT = "R0-p(R1,CPE1)-TLMQ0"
"""R_sep, a contact arc (R_c in parallel with a CPE), and the blocking transmission line."""


def frequency_sweep(fmax_hz: float, fmin_hz: float, points_per_decade: float) -> npt.NDArray[np.float64]:
    """Log-spaced frequencies from *fmax_hz* down to *fmin_hz* [Hz], as a potentiostat sweeps them.

    Both ends are included: 10 kHz to 100 mHz at 10 points per decade (the electrode paper's
    protocol) gives 51 frequencies.
    """
    if not (0 < fmin_hz < fmax_hz) or points_per_decade <= 0:
        raise DataError(
            f"frequency_sweep: expected 0 < fmin_hz < fmax_hz and points_per_decade > 0, "
            f"got fmin_hz={fmin_hz!r}, fmax_hz={fmax_hz!r}, points_per_decade={points_per_decade!r}"
        )
    decades = math.log10(fmax_hz / fmin_hz)
    n = round(decades * points_per_decade) + 1
    return np.asarray(np.logspace(math.log10(fmax_hz), math.log10(fmin_hz), n), dtype=float)


def simulate_spectrum(
    frequency_hz: npt.ArrayLike,
    *,
    r_sep: float,
    r_ion: float,
    q: float,
    gamma: float,
    contact_ohm: float = 0.0,
    contact_peak_hz: float = 2e4,
    contact_alpha: float = 0.9,
    noise: float = 0.0,
    rng: np.random.Generator | int | None = None,
    inductance_h: float = 0.0,
    loop_ohm: float = 0.0,
    loop_peak_hz: float = 10.0,
    drift: float = 0.0,
    drift_corner_hz: float = 1.0,
) -> npt.NDArray[np.complex128]:
    """Impedance [Ω] of R_sep + blocking TLM (R_ion [Ω], Q [F·s^(γ−1)], γ), optionally with noise.

    ``contact_ohm > 0`` adds a contact arc in series: R_c in parallel with a constant-phase element
    whose exponent is ``contact_alpha`` and whose Q puts the arc's apex at ``contact_peak_hz``
    (Q_c = 1/(R_c·(2π·f_peak)^α)); an arc like this appears at high frequency on uncalendered
    electrodes. ``noise`` is the standard deviation of independent Gaussian errors on Re Z and Im Z
    relative to |Z| (0.005 = 0.5 %, i.e. Z·(1 + noise·(ε₁ + jε₂))); ``rng`` is a generator or a seed.

    Artefacts of real measurements, each off at 0: ``inductance_h`` [H], a series inductance (cables and
    leads: the inductive tail, Im Z > 0 at high frequency); ``loop_ohm`` [Ω], a resistance in parallel
    with an inductance in series (an inductive loop, a semicircle with Im Z > 0 whose apex lies at
    ``loop_peak_hz``); ``drift``, a low-frequency measurement drift: independent complex Gaussian errors
    whose standard deviation relative to |Z| is ``drift·(drift_corner_hz/f − 1)`` below the corner
    frequency (it grows as 1/f, as the drift of the cell over one period of the slowest frequencies
    does), zero above it. The passive artefacts (inductance, loop) obey Kramers–Kronig; the drift does not.
    """
    f = np.asarray(frequency_hz, dtype=float)
    extras = (inductance_h, loop_ohm, drift)
    if min(r_sep, r_ion, q) <= 0 or not 0 < gamma <= 1 or contact_ohm < 0 or noise < 0 or min(extras) < 0:
        raise DataError(
            "simulate_spectrum: expected r_sep, r_ion, q > 0, 0 < gamma ≤ 1 and contact_ohm, noise, inductance_h, "
            f"loop_ohm, drift ≥ 0, got r_sep={r_sep!r}, r_ion={r_ion!r}, q={q!r}, gamma={gamma!r}, "
            f"contact_ohm={contact_ohm!r}, noise={noise!r}, inductance_h={inductance_h!r}, loop_ohm={loop_ohm!r}, "
            f"drift={drift!r}"
        )
    if min(loop_peak_hz, drift_corner_hz, contact_peak_hz) <= 0:
        raise DataError(
            "simulate_spectrum: expected contact_peak_hz, loop_peak_hz and drift_corner_hz > 0 Hz, got "
            f"{contact_peak_hz!r}, {loop_peak_hz!r} and {drift_corner_hz!r}"
        )
    if contact_ohm > 0:
        contact_q = 1.0 / (contact_ohm * (2 * np.pi * contact_peak_hz) ** contact_alpha)
        circuit, values = CONTACT_CIRCUIT, [r_sep, contact_ohm, contact_q, contact_alpha, r_ion, q, gamma]
    else:
        circuit, values = CIRCUIT, [r_sep, r_ion, q, gamma]
    model = CustomCircuit(circuit, initial_guess=[float(v) for v in values])
    model.parameters_ = np.asarray(values, dtype=float)  # predict from these values without a warning
    z = np.asarray(model.predict(f), dtype=complex)
    omega = 2.0 * np.pi * f
    if loop_ohm > 0:
        loop_h = loop_ohm / (2.0 * np.pi * loop_peak_hz)  # R || L has its apex at ω = R/L
        z = z + 1j * omega * loop_h * loop_ohm / (loop_ohm + 1j * omega * loop_h)
    if inductance_h > 0:
        z = z + 1j * omega * inductance_h
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    if drift > 0:
        scale = drift * np.maximum(drift_corner_hz / f - 1.0, 0.0) * np.abs(z)
        z = z + scale * (generator.standard_normal(f.size) + 1j * generator.standard_normal(f.size))
    if noise > 0:
        z = z * (1.0 + noise * (generator.standard_normal(f.size) + 1j * generator.standard_normal(f.size)))
    return z


Artefact = Literal["good", "contact", "loop", "truncated", "noisy", "drift"]
"""The kinds of :func:`simulate_real_looking`: good spectra and five deliberately bad ones."""
ARTEFACTS: tuple[str, ...] = get_args(Artefact)

#: The instrument sweep of the real-looking set: 300 kHz to 100 mHz, 10 points per decade (66 points).
REAL_LOOKING_SWEEP = (3e5, 0.1, 10.0)


def simulate_real_looking(
    kind: Artefact, rng: np.random.Generator | int | None = None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.complex128], dict[str, float]]:
    """One spectrum as a real blocking symmetric cell gives it, good or with one deliberate fault.

    Every spectrum: R_sep 9–34 Ω, R_ion 76–335 Ω, Q 1.1–3.8 mF·s^(γ−1), γ 0.84–1 (the ranges of published
    blocking spectra), swept from 300 kHz to 100 mHz at 10 points per decade (66 points), a cable
    inductance of 0.1–2 µH (an inductive tail above ~10 kHz) and measurement noise of 0.2–1 % of |Z|.
    The faults (*kind*): "contact", a contact arc (R_c 0.3–1 × R_ion, apex 0.3–10 kHz); "loop", an
    inductive loop (apex 1–100 Hz, R_L 3–6 × |Im Z| there, so the loop crosses into Im Z > 0);
    "truncated", the sweep stopped at 3–10 × the transmission line's transition frequency
    1/(2π·(R_ion·Q)^(1/γ)), before the capacitive branch; "noisy", ten times the noise (2–10 %); "drift",
    a 1/f drift of 3–10 % of |Z| at 1/10 of a corner frequency of 1–10 Hz. Returns (frequency [Hz],
    Z [Ω], the true parameters r_sep, r_ion, q, gamma and the noise).
    """
    if kind not in ARTEFACTS:
        raise DataError(f"simulate_real_looking: kind must be one of {', '.join(ARTEFACTS)}, got {kind!r}")
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    truth = {
        "r_sep": generator.uniform(9.0, 34.0),
        "r_ion": generator.uniform(76.0, 335.0),
        "q": generator.uniform(1.1e-3, 3.8e-3),
        "gamma": generator.uniform(0.84, 1.0),
    }
    noise = generator.uniform(0.002, 0.01)
    inductance = 10 ** generator.uniform(-7.0, math.log10(2e-6))
    f = frequency_sweep(*REAL_LOOKING_SWEEP)
    extra: dict[str, float] = {}
    if kind == "contact":
        extra = {
            "contact_ohm": generator.uniform(0.3, 1.0) * truth["r_ion"],
            "contact_peak_hz": 10 ** generator.uniform(2.5, 4.0),
        }
    elif kind == "loop":
        peak = 10 ** generator.uniform(0.0, 2.0)
        at_peak = simulate_spectrum(
            np.array([peak]), r_sep=truth["r_sep"], r_ion=truth["r_ion"], q=truth["q"], gamma=truth["gamma"]
        )[0]
        extra = {"loop_ohm": generator.uniform(3.0, 6.0) * abs(at_peak.imag), "loop_peak_hz": peak}
    elif kind == "truncated":
        transition = 1.0 / (2 * np.pi * (truth["r_ion"] * truth["q"]) ** (1.0 / truth["gamma"]))
        f = f[f >= transition * 10 ** generator.uniform(0.5, 1.0)]
    elif kind == "noisy":
        noise *= 10.0
    elif kind == "drift":
        extra = {"drift": generator.uniform(0.03, 0.1) / 9.0, "drift_corner_hz": 10 ** generator.uniform(0.0, 1.0)}
    z = simulate_spectrum(
        f,
        r_sep=truth["r_sep"],
        r_ion=truth["r_ion"],
        q=truth["q"],
        gamma=truth["gamma"],
        contact_ohm=extra.get("contact_ohm", 0.0),
        contact_peak_hz=extra.get("contact_peak_hz", 2e4),
        loop_ohm=extra.get("loop_ohm", 0.0),
        loop_peak_hz=extra.get("loop_peak_hz", 10.0),
        drift=extra.get("drift", 0.0),
        drift_corner_hz=extra.get("drift_corner_hz", 1.0),
        noise=noise,
        inductance_h=inductance,
        rng=generator,
    )
    return f, z, {**truth, "noise": noise}
