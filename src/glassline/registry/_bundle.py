"""The glassline bundle: everything beside the pipeline that serving and auditing a model needs.

Written as plain files under the run's ``glassline/`` artifact folder, so a person can open them:
``study.json`` (and ``study.toml`` when the study file is known), ``domain.json`` (validity domain),
``background.csv`` and ``explainer.json`` (SHAP background sample and settings), ``interval.json``
(split-conformal prediction interval), ``metrics.json`` (the results row), ``model_card.md`` and
``lineage.json`` (data hash, design id, package version, git revision).
"""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from glassline.exceptions import DataError
from glassline.models import Fit
from glassline.registry._domain import DISTANCE_LEVEL, ValidityDomain
from glassline.report._cards import simulated_data
from glassline.spec import Study, study_from_dict

__all__ = ["BACKGROUND_ROWS", "Bundle", "data_hash", "git_revision", "package_version"]

#: Rows of the SHAP background sample (all training rows when there are fewer).
BACKGROUND_ROWS = 100


def package_version() -> str:
    try:
        return version("glassline")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


def git_revision() -> str | None:
    """The git revision of the glassline source tree, or None (no git, not a checkout): never fails."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    revision = out.stdout.strip()
    return revision if out.returncode == 0 and revision else None


def data_hash(*frames: pd.DataFrame | pd.Series) -> str:
    """SHA-256 over the tables' canonical CSV text (row ids, columns and values, 17 significant digits)."""
    digest = hashlib.sha256()
    for frame in frames:
        table = frame.to_frame() if isinstance(frame, pd.Series) else frame
        digest.update(table.to_csv(float_format="%.17g").encode("utf-8"))
    return digest.hexdigest()


@dataclass
class Bundle:
    """What serving one model needs besides its pipeline."""

    study: Study
    target: str
    scenario: str
    family: str
    inputs: list[str]
    domain: ValidityDomain
    background: pd.DataFrame
    explainer: dict[str, Any]
    interval: dict[str, Any]
    metrics: dict[str, Any]
    lineage: dict[str, Any]
    card: str = ""
    study_toml: str | None = None
    default: dict[str, Any] = field(default_factory=dict)

    @property
    def unit(self) -> str:
        return self.study.response(self.target).unit

    # ------------------------------------------------------------------ building
    @classmethod
    def from_fit(
        cls,
        fit: Fit,
        study: Study,
        *,
        results_dir: Path,
        metrics: dict[str, Any],
        study_toml: str | None = None,
        level: float = 0.9,
        seed: int = 0,
        distance_level: float = DISTANCE_LEVEL,
    ) -> Bundle:
        """The bundle of *fit*; *level*: the prediction interval's coverage; *distance_level*: α of the validity
        domain's distance check (:class:`~glassline.registry.ValidityDomain`)."""
        X_all = pd.concat([fit.X_train, fit.X_test]).loc[:, list(fit.inputs)]
        X_train = fit.X_train.loc[:, list(fit.inputs)]
        groups = _training_groups(fit, results_dir)
        domain = ValidityDomain.from_training(study, X_train, groups=groups, level=distance_level)
        n = min(BACKGROUND_ROWS, len(fit.X_train))
        background = fit.X_train.loc[:, list(fit.inputs)].sample(n=n, random_state=seed).sort_index()
        interval = _interval(fit, results_dir, level)
        y = fit.y_train.to_numpy(dtype=float)
        default = {
            "value": float(np.median(y)),
            "interval": [float(np.quantile(y, (1 - level) / 2)), float(np.quantile(y, 1 - (1 - level) / 2))],
            "source": "median of the training targets; interval: their central quantiles at the interval level",
        }
        design = results_dir.parent / "design.csv"
        run_file = results_dir / "run.json"
        run = json.loads(run_file.read_text(encoding="utf-8")) if run_file.exists() else {}
        design_id = run.get("design_id") or (
            "sha256:" + hashlib.sha256(design.read_bytes()).hexdigest() if design.exists() else None
        )
        lineage = {
            "study": study.name,
            "target": fit.target,
            "scenario": fit.scenario,
            "family": fit.family,
            "inputs": list(fit.inputs),
            "data_hash": "sha256:" + data_hash(X_all, fit.y_train, fit.y_test),
            "design_id": design_id,
            "n_train": len(fit.X_train),
            "n_test": len(fit.X_test),
            "results_folder": results_dir.name,
            "glassline_version": package_version(),
            "git_revision": git_revision(),
            "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "params": fit.params,
            # the data came from a simulated line (the dataset's metadata.json, from the raw manifest)
            "simulated": simulated_data(Path(run["data"]) if run.get("data") else results_dir.parent / "dataset"),
        }
        explainer = {
            "method": "interventional Shapley values against this background (glassline.shapley.ShapleyEngine)",
            "background_rows": n,
            "background_seed": seed,
            "family_explainer": fit.explainer,
            "explainable": fit.explainable,
        }
        bundle = cls(
            study=study,
            target=fit.target,
            scenario=fit.scenario,
            family=fit.family,
            inputs=list(fit.inputs),
            domain=domain,
            background=background,
            explainer=explainer,
            interval=interval,
            metrics=metrics,
            lineage=lineage,
            study_toml=study_toml,
            default=default,
        )
        from glassline.registry._card import bundle_card_facts
        from glassline.report._model_card import model_card

        bundle.card = model_card(bundle_card_facts(bundle))
        return bundle

    # ------------------------------------------------------------------ files
    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)

        def dump(name: str, data: Any) -> None:
            (folder / name).write_text(json.dumps(data, indent=2, default=str, allow_nan=False), encoding="utf-8")

        dump("study.json", self.study.model_dump(mode="json"))
        if self.study_toml is not None:
            (folder / "study.toml").write_text(self.study_toml, encoding="utf-8")
        dump("domain.json", self.domain.to_dict())
        self.background.to_csv(folder / "background.csv", index=True, index_label="row_id", float_format="%.17g")
        dump("explainer.json", self.explainer)
        dump("interval.json", _finite(self.interval))
        dump("metrics.json", _finite(self.metrics))
        dump("lineage.json", self.lineage)
        dump("default.json", self.default)
        dump(
            "model.json",
            {"target": self.target, "scenario": self.scenario, "family": self.family, "inputs": self.inputs},
        )
        (folder / "model_card.md").write_text(self.card, encoding="utf-8")

    @classmethod
    def read(cls, folder: Path) -> Bundle:
        def load(name: str) -> Any:
            path = folder / name
            if not path.exists():
                raise DataError(f"{path}: missing from the glassline bundle; was the model published by glassline?")
            return json.loads(path.read_text(encoding="utf-8"))

        model = load("model.json")
        background = pd.read_csv(folder / "background.csv", index_col="row_id")
        toml = folder / "study.toml"
        return cls(
            study=study_from_dict(load("study.json"), source=str(folder / "study.json")),
            target=str(model["target"]),
            scenario=str(model["scenario"]),
            family=str(model["family"]),
            inputs=[str(i) for i in model["inputs"]],
            domain=ValidityDomain.from_dict(load("domain.json")),
            background=background.loc[:, [str(i) for i in model["inputs"]]].astype(float),
            explainer=load("explainer.json"),
            interval=load("interval.json"),
            metrics=load("metrics.json"),
            lineage=load("lineage.json"),
            card=(folder / "model_card.md").read_text(encoding="utf-8"),
            study_toml=toml.read_text(encoding="utf-8") if toml.exists() else None,
            default=load("default.json"),
        )


def _finite(data: dict[str, Any]) -> dict[str, Any]:
    """JSON has no NaN/∞: write them as None."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in data.items()}


def _training_groups(fit: Fit, results_dir: Path) -> pd.Series | None:
    """The configuration label of each training row (``predictions.parquet``'s ``group``), or None when the
    results folder does not hold it for every training row (then each distinct row is a configuration)."""
    path = results_dir / "predictions.parquet"
    if not path.exists():
        return None
    table = pd.read_parquet(path, columns=["row_id", "group", "target", "scenario", "family", "split"])
    mine = table[
        (table["target"] == fit.target)
        & (table["scenario"] == fit.scenario)
        & (table["family"] == fit.family)
        & (table["split"] == "train")
    ].drop_duplicates("row_id")
    groups = mine.set_index("row_id")["group"]
    if not fit.X_train.index.isin(groups.index).all():
        return None
    return groups.reindex(fit.X_train.index)


def _interval(fit: Fit, results_dir: Path, level: float) -> dict[str, Any]:
    """The prediction interval's half-width, from :func:`glassline.explain.prediction_interval` (split conformal)."""
    from glassline.explain import prediction_interval

    path = results_dir / "predictions.parquet"
    if not path.exists():
        raise DataError(f"{path}: missing; the prediction interval needs the cross-validated predictions")
    bounds = prediction_interval(fit, fit.X_train.iloc[:1], level=level, results_dir=results_dir)
    half = float(bounds["upper"].iloc[0] - bounds["prediction"].iloc[0])
    return {
        "level": level,
        "half_width": half,
        "method": "split conformal (glassline.explain.prediction_interval): quantile of |y − ŷ| over the "
        "grouped-CV out-of-fold predictions",
    }
