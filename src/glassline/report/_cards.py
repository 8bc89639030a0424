"""A study folder's model card facts (the card: :mod:`glassline.report._model_card`) and its datasheet (Gebru 2021)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from glassline.data import read_table, study_outlier_rule
from glassline.exceptions import DataError
from glassline.report._model_card import CardEffect, CardFacts, CardInput, MetricSpread, model_card
from glassline.spec import Study

__all__ = ["StudyFolder", "card_facts", "cv_spreads", "datasheet", "simulated_data", "write_cards"]


def simulated_data(dataset: Path) -> bool:
    """Whether a prepared dataset came from a simulated line: its ``metadata.json`` says so (``"simulated"``,
    copied from the raw folder's manifest by ``glassline prepare``), else the raw folder beside it does."""
    for path in (dataset / "metadata.json", dataset.parent / "raw" / "manifest.json"):
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and isinstance(data.get("simulated"), bool):
                return bool(data["simulated"])
    return False


@dataclass
class StudyFolder:
    """The files of one study run, found by their places in the folder (any may be missing)."""

    root: Path
    study: Study
    _cache: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False, compare=False)

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

    @property
    def simulated(self) -> bool:
        """The study's data came from a simulated line (see :func:`simulated_data`)."""
        return simulated_data(self.dataset)

    def table(self, relative: str) -> pd.DataFrame:
        """A CSV or Parquet file of the folder, read once (empty when it is missing)."""
        if relative not in self._cache:
            path = self.root / relative
            try:
                self._cache[relative] = read_table(path) if path.is_file() else pd.DataFrame()
            except DataError:  # a table with a header and no rows
                self._cache[relative] = pd.DataFrame()
        return self._cache[relative]


def cv_spreads(predictions: pd.DataFrame, target: str, scenario: str, family: str) -> tuple[MetricSpread, ...]:
    """Pooled out-of-fold R² and RMSE of one candidate per grouped-CV repeat: their mean and min–max.

    Each repeat of the grouped CV predicts every row once, so each repeat gives one pooled R² and RMSE; the
    spread over repeats is how much the figure depends on the random split into folds. Empty with fewer than
    two repeats in ``predictions.parquet``.
    """
    needed = {"target", "scenario", "family", "split", "repeat", "y_true", "y_pred"}
    if predictions.empty or not needed <= set(predictions.columns):
        return ()
    rows = predictions[
        (predictions["split"] == "cv")
        & (predictions["target"] == target)
        & (predictions["scenario"] == scenario)
        & (predictions["family"] == family)
    ]
    r2s, rmses = [], []
    for _, part in rows.groupby("repeat"):
        y, pred = part["y_true"].to_numpy(float), part["y_pred"].to_numpy(float)
        total = float(np.sum((y - y.mean()) ** 2))
        if len(y) < 2 or total <= 0:
            continue
        sse = float(np.sum((y - pred) ** 2))
        r2s.append(1.0 - sse / total)
        rmses.append(math.sqrt(sse / len(y)))
    if len(r2s) < 2:
        return ()
    over = f"pooled per repeat: mean [min, max] over the {len(r2s)} grouped-CV repeats"
    return tuple(
        MetricSpread(name, float(np.mean(values)), float(np.min(values)), float(np.max(values)), over)
        for name, values in (("R² grouped CV", r2s), ("RMSE grouped CV", rmses))
    )


def _warnings(folder: StudyFolder, target: str, scenario: str) -> tuple[str, ...]:
    table = folder.table("explanations/warnings.csv")
    if table.empty or not {"target", "scenario", "kind", "message"} <= set(table.columns):
        return ()
    rows = table[(table["target"] == target) & (table["scenario"] == scenario)]
    return tuple(f"{r.kind}: {r.message}" for r in rows.itertuples())


def _effects(folder: StudyFolder, target: str, scenario: str, family: str) -> tuple[CardEffect, ...]:
    """The graded effects of ``claims.csv`` for this model (empty when the run wrote none)."""
    table = folder.table("explanations/claims.csv")
    needed = {"target", "scenario", "family", "factor", "effect", "effect_ci_low", "effect_ci_high"}
    if table.empty or not needed <= set(table.columns):
        return ()
    rows = table[(table["target"] == target) & (table["scenario"] == scenario) & (table["family"] == family)]
    names = {c.name for c in folder.study.columns()}
    return tuple(
        CardEffect(
            display=folder.study.column(str(r["factor"])).display if r["factor"] in names else str(r["factor"]),
            effect=float(r["effect"]),
            low=float(r["effect_ci_low"]),
            high=float(r["effect_ci_high"]),
            unit=str(r.get("unit", "") if pd.notna(r.get("unit", "")) else ""),
            status=str(r.get("status", "") if pd.notna(r.get("status", "")) else ""),
            direction=str(r.get("direction", "") if pd.notna(r.get("direction", "")) else ""),
        )
        for _, r in rows.iterrows()
    )


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
    data = folder.table(f"dataset/{level}.parquet")
    card_inputs = []
    for name in inputs:
        column = study.column(name)
        low, high = getattr(column, "low", None), getattr(column, "high", None)
        source = "study file"
        if (low is None or high is None) and name in data and data[name].notna().any():
            # a measured input: the range it was trained on is the data's
            low, high, source = float(data[name].min()), float(data[name].max()), "prepared data (min–max)"
        card_inputs.append(
            CardInput(name=name, display=column.display, unit=column.unit, low=low, high=high, source=source)
        )
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
        simulated=folder.simulated,
        spreads=cv_spreads(
            folder.table("results/predictions.parquet"), target.name, str(row["scenario"]), str(row["family"])
        ),
        warnings=_warnings(folder, target.name, str(row["scenario"])),
        effects=_effects(folder, target.name, str(row["scenario"]), str(row["family"])),
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
            f"# Datasheet: {study.name} dataset" + (" (simulated)" if folder.simulated else ""),
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
            *(
                [
                    "**Simulated data.** The raw folder's manifest says these data came from a simulated line "
                    "(with known ground truth), not from measurements of a real line.",
                    "",
                ]
                if folder.simulated
                else []
            ),
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
