"""Physics checks: the hook through which the study's domain pack compares the models with its physics.

The core knows no domain. A study names its domain (``domain = "..."`` in the study file); when that
pack (:mod:`glassline.domains`) has ``physics_checks``, it runs with a :class:`PhysicsContext` (the
dataset the results were fitted on: run.json ``data``) and returns a :class:`PhysicsResult`, a table
(``physics_check.csv``; it holds ``target`` and ``max_rel_deviation``) and figure paths. No domain,
no check, no dataset: no physics check.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from glassline.domains import PhysicsContext, PhysicsResult, study_domain
from glassline.models import Fit
from glassline.spec import Study

__all__ = ["PhysicsContext", "PhysicsResult", "run_physics_checks"]


def _dataset(results_dir: Path) -> Path | None:
    """The dataset folder run.json says the results were fitted on, if it is still there."""
    run = results_dir / "run.json"
    if not run.exists():
        return None
    data = json.loads(run.read_text(encoding="utf-8")).get("data")
    if not isinstance(data, str):
        return None
    dataset = Path(data)
    if not dataset.is_absolute():
        dataset = (results_dir / dataset).resolve() if (results_dir / dataset).exists() else dataset
    return dataset if dataset.is_dir() else None


def run_physics_checks(
    results_dir: Path,
    study: Study,
    lead: Mapping[str, Fit],
    best: Mapping[str, list[Fit]],
    figures: Path | None,
) -> PhysicsResult | None:
    """The study's domain physics checks for these results, or None when its domain has none."""
    pack = study_domain(study)
    if pack is None or pack.physics_checks is None:
        return None
    dataset = _dataset(results_dir)
    if dataset is None:
        return None
    result = pack.physics_checks(PhysicsContext(study=study, lead=lead, best=best, dataset=dataset, figures=figures))
    return result if isinstance(result, PhysicsResult) else None
