"""Physics checks: a hook through which a domain package compares the models with its own physics.

The core knows no domain. A results folder records where its data came from (run.json ``data``);
a prepared dataset records which domain prepared it (metadata.json ``layout``, e.g.
``glassline.domains.<domain>.prepare``). If that domain package has a ``checks`` module with a
function ``physics_checks(context) -> PhysicsResult``, it runs with a :class:`PhysicsContext` and
returns a table (``physics_check.csv``; it should hold ``target`` and ``max_rel_deviation``) and
figure paths. No layout, no module: no physics check.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from glassline.models import Fit
from glassline.spec import Study

__all__ = ["PhysicsContext", "PhysicsResult", "run_physics_checks"]


@dataclass(frozen=True)
class PhysicsContext:
    """What a domain check gets: the study, the explained fits, the dataset folder, where to draw.

    ``best`` lists, per target, the best family of each explained scenario, best pooled CV R² first.
    """

    study: Study
    lead: Mapping[str, Fit]
    best: Mapping[str, list[Fit]]
    dataset: Path
    figures: Path | None


@dataclass
class PhysicsResult:
    table: pd.DataFrame
    figures: list[Path] = field(default_factory=list)


def _domain_module(dataset: Path) -> str | None:
    meta = dataset / "metadata.json"
    if not meta.exists():
        return None
    layout = json.loads(meta.read_text(encoding="utf-8")).get("layout")
    if not isinstance(layout, str) or "." not in layout:
        return None
    return layout.rsplit(".", 1)[0] + ".checks"


def run_physics_checks(
    results_dir: Path,
    study: Study,
    lead: Mapping[str, Fit],
    best: Mapping[str, list[Fit]],
    figures: Path | None,
) -> PhysicsResult | None:
    """The domain's physics checks for these results, or None when the data's domain has none."""
    run = results_dir / "run.json"
    if not run.exists():
        return None
    data = json.loads(run.read_text(encoding="utf-8")).get("data")
    if not isinstance(data, str):
        return None
    dataset = Path(data)
    if not dataset.is_absolute():
        dataset = (results_dir / dataset).resolve() if (results_dir / dataset).exists() else dataset
    if not dataset.is_dir():
        return None
    name = _domain_module(dataset)
    if name is None:
        return None
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError:
        return None
    check = getattr(module, "physics_checks", None)
    if check is None:
        return None
    result = check(PhysicsContext(study=study, lead=lead, best=best, dataset=dataset, figures=figures))
    return result if isinstance(result, PhysicsResult) else None
