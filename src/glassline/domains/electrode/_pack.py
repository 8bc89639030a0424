"""The electrode pack: the graphite-anode pilot line of the electrode paper, as one DomainPack."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pandas as pd

from glassline._progress import ProgressCallback
from glassline.domains import DomainPack, Phrases
from glassline.domains.electrode import SIMULATOR_SEED
from glassline.domains.electrode._sim_production import RATE_HZ, ProductionResult, simulate_production
from glassline.domains.electrode.checks import physics_checks
from glassline.domains.electrode.glossary import GLOSSARY
from glassline.domains.electrode.prepare import prepare_raw
from glassline.domains.electrode.report import report_blocks
from glassline.domains.electrode.simulator import PAPER_DESIGN, DriftSpec, SimulationResult, simulate_line

__all__ = ["STUDY_FILE", "pack", "simulate"]

#: The paper's study file (graphite-anode DoE), shipped with the pack.
STUDY_FILE = Path(str(files("glassline.domains.electrode").joinpath("study.toml")))


def simulate(
    design: pd.DataFrame | Path,
    out_dir: Path,
    *,
    seed: int,
    drift: str | None = None,
    progress: ProgressCallback | None = None,
    production: int | None = None,
    rate_hz: float | None = None,
) -> SimulationResult | ProductionResult:
    """The pack's simulator: :func:`~glassline.domains.electrode.simulator.simulate_line`, with the drift given
    as text (``KIND:MAGNITUDE[@SEGMENT]``, as ``glassline simulate --drift`` takes it)."""
    if production is not None:  # a production run (many coils, Parquet log by day); the design is not used
        return simulate_production(out_dir, production, seed=seed, rate_hz=rate_hz or RATE_HZ, progress=progress)
    return simulate_line(design, out_dir, seed=seed, drift=DriftSpec.parse(drift) if drift else None, progress=progress)


pack = DomainPack(
    name="electrode",
    title="Graphite-anode pilot line (Haghi et al., Batteries & Supercaps 2023)",
    prepare=prepare_raw,
    physics_checks=physics_checks,
    report=report_blocks,
    captions={
        "physics": "Physics check: measured tortuosity with the fitted τ = a·ε^−α per group, beside the model's "
        "predicted curve; a large gap means the model departs from the physics there.",
    },
    phrases=Phrases(
        physics_reference="the fitted Bruggeman curves",
        checklist=(
            "Coin cells: check the cell's crimping, electrolyte filling and formation record before its rate test.",
            "Impedance: check the spectrum's Kramers-Kronig residual and the fit flag in dataset/eis_fits.csv.",
            "Adhesion: check that the specimen was cut from the calendered or uncalendered coil as recorded.",
        ),
    ),
    simulator=simulate,
    study_files=(STUDY_FILE,),
    glossary=GLOSSARY,
    example_design=PAPER_DESIGN,
    default_seed=SIMULATOR_SEED,
    reference="Reproducing the paper",
)
