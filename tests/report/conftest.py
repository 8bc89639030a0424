"""A small fitted and explained study folder of a domain-free coating line, with hand-written claims.

Two responses over two factors (9 configurations × 3 specimens); the claims cover stated, hedged (both
"about equal" and "unclear") and not_stated rows, the way ``glassline explain`` writes claims.csv.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from glassline import study_from_dict, write_study
from glassline.data import prepare
from glassline.explain import explain
from glassline.models import compare

ROLES_STUDY = {
    "name": "toy coating line",
    "seed": 3,
    "requirements": ["strength >= 200"],
    "factors": [
        {"name": "speed", "label": "Line speed", "unit": "m/min", "low": 1.0, "high": 3.0},
        {"name": "temp", "label": "Dryer temperature", "unit": "°C", "low": 40.0, "high": 80.0},
    ],
    "responses": [
        {"name": "strength", "label": "Peel strength", "unit": "kPa"},
        {"name": "thickness", "label": "Coat thickness", "unit": "µm"},
    ],
    "data": {"group": "configuration"},
    "split": {"cv_folds": 3, "cv_repeats": 2},
    "models": {"families": ["mlr", "poly2"]},
    "cleaning": {"outlier_alpha": 0},
}

CLAIM_HEADER = (
    "target,scenario,family,factor,rank,rank_probability,direction,direction_probability,shape,effect,"
    "effect_ci_low,effect_ci_high,unit,status"
)


def claims_csv(scenario: str, families: dict[str, str]) -> str:
    """claims.csv of the toy study: stated, hedged with an interval off zero (about equal), hedged across
    zero (unclear) and not_stated rows."""
    s, t = families["strength"], families["thickness"]
    rows = [
        f"strength,{scenario},{s},speed,1,0.97,decreasing,1.0,decreasing,-80.4,-84.1,-76.2,kPa,stated",
        f"strength,{scenario},{s},temp,2,0.55,increasing,0.99,increasing,19.6,15.2,24.3,kPa,hedged",
        f"thickness,{scenario},{t},temp,1,0.62,increasing,0.71,increasing,0.81,-0.2,1.9,µm,hedged",
        f"thickness,{scenario},{t},speed,2,0.62,decreasing,0.52,none,0.05,-0.6,0.7,µm,not_stated",
    ]
    return "\n".join([CLAIM_HEADER, *rows]) + "\n"


WARNINGS_CSV = (
    "target,scenario,factor,kind,message\n"
    "thickness,factors,temp,not_significant,the interval of the effect includes zero\n"
    "thickness,factors,,low_model_quality,grouped-CV R² below the limit\n"
    "strength,factors,speed~temp,tie,line speed and dryer temperature matter about equally\n"
)


def _build(root: Path) -> Path:
    study = study_from_dict(ROLES_STUDY)
    rng = np.random.default_rng(0)
    configs = pd.DataFrame(
        {
            "configuration": [f"C{i}" for i in range(9)],
            "speed": np.repeat([1.0, 2.0, 3.0], 3),
            "temp": np.tile([40.0, 60.0, 80.0], 3),
        }
    )
    rows = configs.loc[configs.index.repeat(3)].reset_index(drop=True)
    rows["specimen"] = np.tile([1, 2, 3], 9)
    rows["strength"] = 300 - 40 * rows["speed"] + 0.5 * rows["temp"] + rng.normal(0, 2, len(rows))
    # one specimen of two configurations far off its replicates (kept: no outlier rule): outside its interval
    rows.loc[[4, 13], "strength"] += 25
    rows["thickness"] = 50 + 0.02 * rows["temp"] + rng.normal(0, 1, len(rows))
    raw = root / "raw"
    raw.mkdir(parents=True)
    rows.to_csv(raw / "data.csv", index=False)
    write_study(study, root / "study.toml")
    prepare(study, raw, root / "dataset")
    compare(study, root / "dataset", n_jobs=1).write(root / "results")
    outcome = explain(
        root / "results", root / "explanations", study=study, requirements=ROLES_STUDY["requirements"], plots=False
    )
    families = {target: fit.family for target, fit in outcome.lead.items()}
    scenario = next(iter(outcome.lead.values())).scenario
    (root / "explanations" / "claims.csv").write_text(claims_csv(scenario, families), encoding="utf-8")
    (root / "explanations" / "warnings.csv").write_text(WARNINGS_CSV, encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def roles_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The explained toy folder, built once (copy it before changing it)."""
    return _build(tmp_path_factory.mktemp("roles") / "study")


@pytest.fixture
def roles_folder(roles_source: Path, tmp_path: Path) -> Path:
    """A fresh copy of the explained toy folder for one test."""
    return Path(shutil.copytree(roles_source, tmp_path / "study"))
