"""A study folder's model card facts (the card: :mod:`glassline.report._model_card`) and its datasheet (Gebru 2021)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from glassline.data import study_outlier_rule
from glassline.report._model_card import CardFacts, CardInput, model_card
from glassline.spec import Study

__all__ = ["StudyFolder", "card_facts", "datasheet", "write_cards"]


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


def card_facts(folder: StudyFolder, row: pd.Series) -> CardFacts:
    """What the study folder knows of one fitted candidate (a results.csv row), for :func:`model_card`."""
    study = folder.study
    target = study.response(str(row["target"]))
    inputs = study.scenarios[str(row["scenario"])]
    run = folder.run()
    meta = folder.dataset_metadata()
    level = _level_of(study, target.name)
    levels = meta.get("levels", {}) if isinstance(meta, dict) else {}
    level_info = levels.get(level, {}) if isinstance(levels, dict) else {}
    card_inputs = []
    for name in inputs:
        column = study.column(name)
        low, high = getattr(column, "low", None), getattr(column, "high", None)
        card_inputs.append(CardInput(name=name, display=column.display, unit=column.unit, low=low, high=high))
    return CardFacts(
        study=study,
        target=target.name,
        scenario=str(row["scenario"]),
        family=str(row["family"]),
        metrics={str(k): v for k, v in row.items()},
        inputs=tuple(card_inputs),
        n_folds=int(run.get("cv_folds", 0) or 0) * int(run.get("cv_repeats", 0) or 0),
        data_table=f"dataset/{level}.parquet",
        data_rows=level_info.get("rows"),
        groups=level_info.get("groups"),
        pipeline=f"`results/models/{row['target']}/{row['scenario']}/{row['family']}.joblib`",
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
            f"Outlier rule: {study_outlier_rule(study).name}. Every removed or changed row is in "
            "`dataset/cleaning_log.csv`:",
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
            path.write_text(model_card(card_facts(folder, row)), encoding="utf-8")
            written[f"{row['target']}/{row['scenario']}"] = path
    path = out / "datasheet.md"
    path.write_text(datasheet(folder), encoding="utf-8")
    written["datasheet"] = path
    return written
