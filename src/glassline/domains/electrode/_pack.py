"""The electrode pack: the graphite-anode pilot line of the electrode paper, as one DomainPack."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from glassline.domains import DomainPack, Phrases
from glassline.domains.electrode.checks import physics_checks
from glassline.domains.electrode.glossary import GLOSSARY
from glassline.domains.electrode.prepare import prepare_raw
from glassline.domains.electrode.report import report_blocks
from glassline.domains.electrode.simulator import simulate_line

__all__ = ["STUDY_FILE", "pack"]

#: The paper's study file (graphite-anode DoE), shipped with the pack.
STUDY_FILE = Path(str(files("glassline.domains.electrode").joinpath("study.toml")))


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
    phrases=Phrases(physics_reference="the fitted Bruggeman curves"),
    simulator=simulate_line,
    study_files=(STUDY_FILE,),
    glossary=GLOSSARY,
)
