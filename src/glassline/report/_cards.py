"""Model cards (Mitchell et al. 2019) and a dataset datasheet (Gebru et al. 2021), computed from a study folder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from glassline.spec import Study

__all__ = ["StudyFolder", "datasheet", "model_card", "write_cards"]


@dataclass
class StudyFolder:
    """The files of one study run, found by their places in the folder (any may be missing)."""

    root: Path
    study: Study

    @property
    def results(self) -> Path:
        return self.root / "results"

    @property
    def dataset(self) -> Path:
        return self.root / "dataset"

    @property
    def explanations(self) -> Path:
        return self.root / "explanations"

    def results_table(self) -> pd.DataFrame:
        path = self.results / "results.csv"
        return pd.read_csv(path) if path.exists() else pd.DataFrame()

    def run(self) -> dict[str, Any]:
        path = self.results / "run.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def dataset_metadata(self) -> dict[str, Any]:
        path = self.dataset / "metadata.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _level_of(study: Study, target: str) -> str:
    return study.response(target).level or "data"


def model_card(folder: StudyFolder, row: pd.Series) -> str:
    """The model card of one published candidate (a results.csv row marked best)."""
    study = folder.study
    target = study.response(str(row["target"]))
    inputs = study.scenarios[str(row["scenario"])]
    run = folder.run()
    meta = folder.dataset_metadata()
    level = _level_of(study, target.name)
    levels = meta.get("levels", {}) if isinstance(meta, dict) else {}
    level_info = levels.get(level, {}) if isinstance(levels, dict) else {}
    folds = int(run.get("cv_folds", 0) or 0) * int(run.get("cv_repeats", 0) or 0)
    half = 1.96 * float(row["cv_r2_std"]) / np.sqrt(folds) if folds else float("nan")
    factor_lines = []
    for name in inputs:
        column = study.column(name)
        span = ""
        if hasattr(column, "low") and getattr(column, "low", None) is not None:
            span = f"{column.low:g} – {column.high:g} {column.unit}"  # type: ignore[union-attr]
        else:
            span = "measured on the line; range of the training data"
        factor_lines.append(f"| {column.display} | `{name}` | {span} |")
    explainable = bool(row.get("explainable", True))
    caveats = [
        f"Trained on {int(row['n_train'])} rows from {level_info.get('groups', '?')} configurations: small data; "
        "the grouped cross-validation figure is the honest one, the random split flatters when replicates sit on "
        "both sides.",
        "Valid inside the design space only; outside it the serving stage flags or refuses the input.",
    ]
    if not explainable:
        caveats.append(
            "The inputs of this scenario are strongly correlated: the model predicts, but per-input explanations "
            "are not meaningful and are not offered."
        )
    return "\n".join(
        [
            f"# Model card: {target.display} from the {row['scenario']} scenario",
            "",
            "## Model details",
            "",
            f"- Family: `{row['family']}` (chosen by grouped cross-validation among "
            f"{', '.join(study.models.families)})",
            f"- Study: {study.name}; seed {study.seed}; card written {date.today().isoformat()} by glassline",
            f"- Tuned hyperparameters: {row.get('params', '{}')}",
            f"- Saved pipeline: `results/models/{row['target']}/{row['scenario']}/{row['family']}.joblib`",
            "",
            "## Intended use",
            "",
            f"- Predict {target.label or target.name} [{target.unit}] of new settings inside the studied ranges, to "
            "plan experiments, compare settings and find a process window; with a person checking the result.",
            "- Users: process engineers and data scientists; domain experts read the explanations.",
            "",
            "## Out-of-scope use",
            "",
            "- Settings outside the ranges below, other materials, formulations or lines.",
            "- Release decisions on single products without a measurement; safety functions.",
            "- Causal claims beyond the designed factors.",
            "",
            "## Factors (inputs)",
            "",
            "| input | column | range |",
            "|---|---|---|",
            *factor_lines,
            "",
            "## Metrics",
            "",
            "| metric | value |",
            "|---|---|",
            f"| R² grouped CV (pooled out-of-fold) | {float(row['cv_r2_pooled']):.3f} |",
            f"| R² grouped CV, mean of folds ± 95 % interval | {float(row['cv_r2_mean']):.3f} ± {half:.3f} |",
            f"| RMSE grouped CV, mean ± SD over folds | {float(row['cv_rmse_mean']):.4g} ± "
            f"{float(row['cv_rmse_std']):.2g} {target.unit} |",
            f"| R² test (paper's random 80/20 split) | {float(row['r2_test']):.3f} |",
            f"| RMSE test | {float(row['rmse_test']):.4g} {target.unit} |",
            f"| MSE_train / MSE_test | {float(row['mse_ratio']):.2f} |",
            "",
            "## Data",
            "",
            f"- Table `dataset/{level}.parquet`: {level_info.get('rows', '?')} rows, {level_info.get('groups', '?')} "
            f"groups; {int(row['n_train'])} training and {int(row['n_test'])} test rows (paper protocol).",
            "- See the datasheet (`cards/datasheet.md`) for how the data were collected and cleaned.",
            "",
            "## Caveats and recommendations",
            "",
            *[f"- {c}" for c in caveats],
            "",
        ]
    )


def datasheet(folder: StudyFolder) -> str:
    """One datasheet for the prepared dataset."""
    study = folder.study
    meta = folder.dataset_metadata()
    levels = meta.get("levels", {}) if isinstance(meta, dict) else {}
    rows = []
    for level, info in levels.items() if isinstance(levels, dict) else []:
        responses = ", ".join(info.get("responses", [])) or "(supporting table)"
        rows.append(f"| `{level}` | {info.get('rows')} | {info.get('groups') or '–'} | {responses} |")
    log_path = folder.dataset / "cleaning_log.csv"
    log = pd.read_csv(log_path) if log_path.exists() else pd.DataFrame(columns=["file", "rule"])
    counts = log.groupby(["file", "rule"]).size()
    cleaning = "\n".join(f"- `{f}`: {r}: {n} rows" for (f, r), n in zip(counts.index, counts, strict=True))
    cleaning = cleaning or "- nothing removed"
    columns = "\n".join(f"| `{c.name}` | {c.label} | {c.unit} |" for c in study.columns())
    return "\n".join(
        [
            f"# Datasheet: {study.name} dataset",
            "",
            "## Motivation",
            "",
            f"Built to model {', '.join(r.label or r.name for r in study.responses)} from the factors of a designed "
            "experiment and the line's measurements.",
            "",
            "## Composition",
            "",
            "| table | rows | groups | responses |",
            "|---|---|---|---|",
            *rows,
            "",
            "| column | meaning | unit |",
            "|---|---|---|",
            columns,
            "",
            f"Rows sharing a `{study.data.group or '(none)'}` value are replicates of one configuration.",
            "",
            "## Collection process",
            "",
            f"Raw layout `{meta.get('layout', 'tables') if isinstance(meta, dict) else 'tables'}`; read, aligned and "
            "checked by `glassline prepare` against the study file (columns, units, numbers, ranges, duplicates).",
            "",
            "## Preprocessing and cleaning",
            "",
            f"Outlier rule: {study.cleaning.outlier_rule.upper()} with k = "
            f"{study.cleaning.outlier_sd if study.cleaning.outlier_rule == 'sd' else study.cleaning.outlier_mad} per "
            "group. Every removed or changed row is in `dataset/cleaning_log.csv`:",
            "",
            cleaning,
            "",
            "## Uses",
            "",
            "Model comparison and explanation inside the studied ranges. Not for other lines or materials without "
            "new data.",
            "",
            "## Maintenance",
            "",
            "Regenerate with the same study file and seed; every stage writes plain files a person can open.",
            "",
        ]
    )


def write_cards(folder: StudyFolder) -> dict[str, Path]:
    """Write a model card per best family per target × scenario and the datasheet into ``cards/``."""
    out = folder.root / "cards"
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    results = folder.results_table()
    if len(results):
        for _, row in results[results["best"].astype(bool)].iterrows():
            path = out / f"model_card_{row['target']}_{row['scenario']}.md"
            path.write_text(model_card(folder, row), encoding="utf-8")
            written[f"{row['target']}/{row['scenario']}"] = path
    path = out / "datasheet.md"
    path.write_text(datasheet(folder), encoding="utf-8")
    written["datasheet"] = path
    return written
