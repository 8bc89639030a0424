"""Quick start: the paper's study, designed, run on the simulated line and prepared, from Python.

Run: python examples/electrode_quickstart.py [OUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import glassline
from glassline.data import prepare
from glassline.demo import electrode_study_path
from glassline.design import optimal_design
from glassline.domains.electrode.simulator import simulate_line


def main(out: Path) -> None:
    study = glassline.load_study(electrode_study_path())
    design = optimal_design(study, runs=17, seed=study.seed)
    report = design.diagnostics()
    print(f"I-optimal design: I = {report.i_criterion:.4f}, max VIF = {report.max_vif:.2f}")
    runs = design.run_sheet(seed=study.seed)
    runs["configuration"] = [f"R{r:02d}" for r in runs["run"]]
    simulate_line(runs[["configuration", *study.factor_names]], out / "raw", seed=study.seed)
    dataset = prepare(study, out / "raw", out / "dataset")
    adhesion = dataset.tables["specimen"]
    by_porosity = adhesion.groupby(adhesion["porosity"].round(-1))["adhesion_strength"].mean()
    print("mean adhesion strength [kPa] by porosity [%]:")
    print(by_porosity.round(0).to_string())


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("quickstart-out"))
