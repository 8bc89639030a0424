"""What the explanation stage produces, and its folder: :class:`Explanations`, written and read back.

An explanations folder holds ``importance.csv``, ``shap_values.parquet``, ``agreement.csv``,
``expectations.csv``, ``influential.csv``, ``warnings.csv`` and ``collinearity.csv`` (see
:mod:`glassline.explain._warnings`), ``uncertainty.csv``, ``ranks.csv`` and ``claims.csv`` (see
:mod:`glassline.explain._claims`; folders written before them read back as empty tables with their
columns), ``narratives.json`` / ``.md``, ``window.csv`` / ``.json``
(with requirements), ``physics_check.csv`` (with a domain check), ``notes.txt``, ``figures/`` and
``run.json``: the seed the stage ran with, the results folder it explained (relative to the
explanations folder) and its settings. See :func:`glassline.explain.explain` for what each holds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shap

from glassline._cluster import map_tasks
from glassline.exceptions import DataError, SpecError
from glassline.explain import _figures as figures
from glassline.explain._claims import CLAIM_COLUMNS, RANKS_COLUMNS, UNCERTAINTY_COLUMNS
from glassline.explain._expectations import factor_bounds
from glassline.explain._importance import normalized_coefficients
from glassline.explain._narrative import write_narratives
from glassline.explain._warnings import COLLINEARITY_COLUMNS, WARNING_COLUMNS
from glassline.explain._window import Window, parse_requirement, window_slice
from glassline.models import Fit, FitKey, Fits, adequate_choice, load_fits, resolve_study
from glassline.spec import Study, load_study

__all__ = ["RUN_FILE", "Explanations", "lead_fits", "shap_table", "write", "write_figures"]

#: What the explanation stage records of its run (``run.json`` in its folder).
RUN_FILE = "run.json"


@dataclass
class Explanations:
    """What :func:`explain` computed; ``files`` lists what it wrote.

    ``seed`` is the seed the stage ran with (permutation importance, bootstrap refits, sampled SHAP);
    ``settings`` the rest of what ``run.json`` records (results folder, bootstrap, level, requirements).
    :meth:`write` writes it all to a folder and :meth:`load` reads such a folder back.
    """

    study: Study
    fits: Fits
    importance: pd.DataFrame
    shap: dict[FitKey, shap.Explanation]
    agreement: pd.DataFrame
    expectations: pd.DataFrame
    influential: pd.DataFrame
    narratives: dict[str, Any]
    lead: dict[str, Fit]
    physics: pd.DataFrame | None = None
    window: Window | None = None
    notes: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    seed: int = 0
    settings: dict[str, Any] = field(default_factory=dict)
    #: ``warnings.csv``: target, scenario, factor, kind, message (see :func:`glassline.explain.explanation_warnings`)
    warnings: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=WARNING_COLUMNS))
    #: ``collinearity.csv``: each scenario's max VIF and |r| graded ok / collinear / withheld with the stage's limits
    collinearity: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=COLLINEARITY_COLUMNS))
    #: ``uncertainty.csv``: importance and effect with CIs, direction probability, shape and optimum per
    #: target × scenario × family × input of the bootstrapped fits (see :mod:`glassline.explain._claims`)
    uncertainty: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=UNCERTAINTY_COLUMNS))
    #: ``ranks.csv``: the share of bootstrap refits in which each input holds each rank
    ranks: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=RANKS_COLUMNS))
    #: ``claims.csv``: one graded claim per target × input of the lead model
    claims: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CLAIM_COLUMNS))

    def write(
        self, folder: str | Path, *, plots: bool = True, n_jobs: int = 1, all_figures: bool = False
    ) -> list[Path]:
        """Write the tables, narratives, ``run.json`` and (if *plots*) figures to *folder*; returns the files.

        The figures are those the report shows; *all_figures* adds every other fit's (:func:`write_figures`)."""
        written = write(self, Path(folder), plots=plots, n_jobs=n_jobs, all_figures=all_figures)
        self.files = [*written, *(f for f in self.files if f not in written)]
        return written

    @classmethod
    def load(
        cls, folder: str | Path, *, fits: Fits | None = None, study: Study | str | Path | None = None
    ) -> Explanations:
        """Read back a folder written by :func:`explain` (or :meth:`write`).

        The fits come from the results folder its ``run.json`` names (or *fits*); the study as for
        :func:`~glassline.models.resolve_study` (or *study*). SHAP values, tables, narratives, the physics
        check and the process window are read from the files; figures stay files.
        """
        return _load(Path(folder), fits, study)


def lead_fits(
    fits: Fits,
    targets: Iterable[str],
    explained: set[FitKey],
    collinear: Iterable[tuple[str, str]] = (),
) -> dict[str, Fit]:
    """Per target, the lead model: first its scenario, then the family within it.

    The scenario: the one whose best explained family has the highest pooled CV R², scenarios with a
    ``collinear`` warning (*collinear*: target × scenario pairs) after those without one, and scenarios
    that are not explainable after both. The family within that scenario: when some explained family
    passes its pure-error lack-of-fit test, the highest pooled grouped-CV R² among those whose test
    does not reject (``lof_p`` ≥ 0.05, or no test: families not linear in their parameters, no
    replicates) and whose pooled CV R² is above 0, so a straight line that wins CV narrowly but misses
    the curvature the replicates show gives way to a model that fits; when every tested family
    rejects (the configurations differ by more than their replicates in a way no tested family
    captures, or at random), the highest pooled CV R² of all (:func:`~glassline.models.adequate_choice`).
    """
    results = fits.results
    warned = set(collinear)
    lead: dict[str, Fit] = {}
    for target in targets:
        rows = results[results["target"] == target]
        chosen = [(target, str(s), str(f)) in explained for s, f in zip(rows["scenario"], rows["family"], strict=True)]
        rows = rows.loc[np.asarray(chosen, dtype=bool)]
        rows = rows[rows["cv_r2_pooled"].notna()]
        if rows.empty:
            continue
        best = rows.loc[rows.groupby("scenario", sort=False)["cv_r2_pooled"].idxmax()]
        explainable = best["explainable"].astype(bool)
        warned_here = {s for t, s in warned if t == target}
        clean = explainable & ~best["scenario"].astype(str).isin(warned_here)
        for tier in (best[clean], best[explainable], best):
            if not tier.empty:
                scenario = str(tier.sort_values("cv_r2_pooled", ascending=False).iloc[0]["scenario"])
                break
        choice = adequate_choice(rows[rows["scenario"].astype(str) == scenario])
        lead[target] = fits[(target, scenario, str(rows.loc[choice, "family"]))]
    return lead


def shap_table(explanations: dict[FitKey, shap.Explanation], fits: Fits) -> pd.DataFrame:
    """Long table of every SHAP value: one row per fit × training row × input."""
    parts = []
    for key, e in explanations.items():
        values = np.asarray(e.values, dtype=float)
        n, p = values.shape
        row_ids = fits[key].X_train.index.to_numpy()
        parts.append(
            pd.DataFrame(
                {
                    "target": key[0],
                    "scenario": key[1],
                    "family": key[2],
                    "row_id": np.repeat(row_ids[:n], p),
                    "feature": np.tile(np.asarray(e.feature_names, dtype=object), n),
                    "value": np.asarray(e.data, dtype=float).ravel(),
                    "shap": values.ravel(),
                    "base_value": np.repeat(np.ravel(e.base_values), p),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def write(
    outcome: Explanations, out: Path, *, plots: bool = True, n_jobs: int = 1, all_figures: bool = False
) -> list[Path]:
    """Write the tables, narratives and (if *plots*) figures to folder *out* (see :func:`write_figures` for
    which figures; *all_figures* writes every fit's)."""
    if out.exists() and not out.is_dir():
        raise DataError(f"{out}: exists and is not a folder; give a folder for the explanations")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in (
        ("importance.csv", outcome.importance),
        ("agreement.csv", outcome.agreement),
        ("expectations.csv", outcome.expectations),
        ("influential.csv", outcome.influential),
        ("warnings.csv", outcome.warnings.reindex(columns=WARNING_COLUMNS)),
        ("collinearity.csv", outcome.collinearity.reindex(columns=COLLINEARITY_COLUMNS)),
        ("uncertainty.csv", outcome.uncertainty.reindex(columns=UNCERTAINTY_COLUMNS)),
        ("ranks.csv", outcome.ranks.reindex(columns=RANKS_COLUMNS)),
        ("claims.csv", outcome.claims.reindex(columns=CLAIM_COLUMNS)),
    ):
        table.to_csv(out / name, index=False)
        written.append(out / name)
    shap_table(outcome.shap, outcome.fits).to_parquet(out / "shap_values.parquet", index=False)
    written.append(out / "shap_values.parquet")
    written += write_narratives(outcome.study, outcome.narratives, out)
    if outcome.window is not None:
        outcome.window.grid.to_csv(out / "window.csv", index=False)
        (out / "window.json").write_text(json.dumps(outcome.window.summary(), indent=2), encoding="utf-8")
        written += [out / "window.csv", out / "window.json"]
    if outcome.notes:
        (out / "notes.txt").write_text("\n".join(outcome.notes) + "\n", encoding="utf-8")
        written.append(out / "notes.txt")
    if outcome.physics is not None:
        outcome.physics.to_csv(out / "physics_check.csv", index=False)
        written.append(out / "physics_check.csv")
    results = outcome.fits.folder
    run = {
        "study": outcome.study.name,
        "seed": outcome.seed,
        "results": os.path.relpath(results, out) if results is not None else None,
        **outcome.settings,
        "explained": [list(key) for key in outcome.shap],
    }
    (out / RUN_FILE).write_text(json.dumps(run, indent=2, default=str), encoding="utf-8")
    written.append(out / RUN_FILE)
    if plots:
        written += write_figures(outcome, out / "figures", n_jobs=n_jobs, every=all_figures)
    return written


def _fit_figures(
    e: shap.Explanation,
    fit: Fit,
    rows: pd.DataFrame,
    labels: dict[str, str],
    where: Path,
    title: str,
    bar: bool = True,
) -> list[Path]:
    """Beeswarm, bar (if *bar*), MDI and coefficient figures of one fit (one worker task)."""
    family = fit.family
    written = [figures.shap_beeswarm(e, where / f"{family}_beeswarm.png", labels, title)]
    if bar:
        written.append(figures.shap_bar(e, where / f"{family}_bar.png", labels, title))
    mdi = rows[rows["method"] == "mdi"]
    if not mdi.empty:
        names = [labels.get(f, f) for f in mdi["feature"]]
        written.append(figures.mdi_figure(names, mdi["importance"], where / f"{family}_mdi.png", title))
    c = normalized_coefficients(fit)
    if c is not None:
        names = [labels.get(f, f) for f in fit.inputs]
        written.append(figures.coefficient_figure(names, c, where / f"{family}_coefficients.png", title))
    return written


def write_figures(outcome: Explanations, folder: Path, *, n_jobs: int = 1, every: bool = False) -> list[Path]:
    """The figures under *folder*: by default those the report shows, i.e. the beeswarm, MDI and coefficient
    figures of every family of each target's lead scenario, the lead model's dependence and contour figures,
    and the process-window figures (a figure costs about 0.3 s; the other scenarios' figures and the SHAP bar
    charts, which the beeswarms carry, were two thirds of them and nobody read them in the report). *every*:
    also the bar chart of every fit and the figures of every other explained scenario (``glassline explain
    --all-figures``). The tables (importance.csv, shap_values.parquet, …) hold every fit either way."""
    study = outcome.study
    labels = {c.name: c.display for c in study.columns()}
    bounds = factor_bounds(study)
    imp = outcome.importance
    tasks = []
    shown = {(target, fit.scenario) for target, fit in outcome.lead.items()}
    for key, e in outcome.shap.items():
        target, scenario, family = key
        if not every and (target, scenario) not in shown:
            continue
        rows = imp[(imp["target"] == target) & (imp["scenario"] == scenario) & (imp["family"] == family)]
        title = f"{labels.get(target, target)} · {family}"
        tasks.append((e, outcome.fits[key], rows, labels, folder / target / scenario, title, every))
    # where the figures are drawn: glassline._cluster (local processes, or the active Dask cluster)
    per_fit = list(map_tasks(_fit_figures, tasks, n_jobs=n_jobs, prefer=None, writes_files=True))
    written: list[Path] = [path for paths in per_fit for path in paths]
    for target, fit in outcome.lead.items():
        where = folder / target / fit.scenario
        e = outcome.shap[fit.key]
        order = np.argsort(-np.abs(np.asarray(e.values)).mean(axis=0))
        title = f"{labels.get(target, target)} · {fit.family} (lead model)"
        for j in order[:3]:
            name = fit.inputs[j]
            written.append(
                figures.shap_dependence(e, name, where / f"dependence_{name}.png", labels, title, bounds.get(name))
            )
        ranked = [fit.inputs[j] for j in order if fit.inputs[j] in bounds] or [fit.inputs[j] for j in order]
        if len(ranked) >= 2:
            x, y = ranked[0], ranked[1]
            written.append(figures.contour_figure(fit, x, y, bounds, labels, where / f"contour_{x}_{y}.png", title))
    window = outcome.window
    if window is not None:
        for response, fit in window.models.items():
            e = outcome.shap.get(fit.key)
            ranked = list(fit.inputs)
            if e is not None:
                ranked = [fit.inputs[j] for j in np.argsort(-np.abs(np.asarray(e.values)).mean(axis=0))]
            if len(ranked) < 2:
                continue
            x, y = ranked[0], ranked[1]
            gx, gy, _ = figures.surface(fit, x, y, bounds)
            feasible = window_slice(window, fit, x, y, gx, gy)
            title = f"{labels.get(response, response)}: process window " + ", ".join(map(str, window.requirements))
            path = folder / "window" / f"{response}_{x}_{y}.png"
            written.append(figures.contour_figure(fit, x, y, bounds, labels, path, title, feasible, window.recommended))
    return written


# ----------------------------------------------------------------------------- reading a folder back
def _read_csv(path: Path, *, keep_default_na: bool = True) -> pd.DataFrame:
    """A table the stage wrote; an empty one (no rows and no columns) reads as an empty frame."""
    if not path.is_file():
        return pd.DataFrame()
    try:
        return pd.read_csv(path, keep_default_na=keep_default_na)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def _shap_from_table(table: pd.DataFrame) -> dict[FitKey, shap.Explanation]:
    """``shap_values.parquet`` back to one :class:`shap.Explanation` per fit (rows and inputs in their order)."""
    out: dict[FitKey, shap.Explanation] = {}
    for (target, scenario, family), part in table.groupby(["target", "scenario", "family"], sort=False):
        features = list(dict.fromkeys(part["feature"].astype(str)))
        p = len(features)
        n = len(part) // p
        values = part["shap"].to_numpy(dtype=float).reshape(n, p)
        data = part["value"].to_numpy(dtype=float).reshape(n, p)
        base = part["base_value"].to_numpy(dtype=float).reshape(n, p)[:, 0]
        out[(str(target), str(scenario), str(family))] = shap.Explanation(
            values=values, base_values=base, data=data, feature_names=features
        )
    return out


def _written_lead(story: dict[str, Any], fits: Fits, explained: set[FitKey]) -> dict[str, Fit]:
    """The lead fit per target as ``narratives.json`` records it (empty when a recorded fit is missing)."""
    lead: dict[str, Fit] = {}
    for target, entry in story.items():
        model = entry.get("model", {}) if isinstance(entry, dict) else {}
        key = (str(target), str(model.get("scenario")), str(model.get("family")))
        if key not in explained or key not in fits:
            return {}
        lead[str(target)] = fits[key]
    return lead


def _load(folder: Path, fits: Fits | None, study: Study | str | Path | None) -> Explanations:
    run_file = folder / RUN_FILE
    if not run_file.is_file():
        raise DataError(f"{folder}: no {RUN_FILE}; expected a folder written by 'glassline explain'")
    try:
        run: dict[str, Any] = json.loads(run_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{run_file}: not valid JSON: {exc}") from None
    if fits is None:
        recorded = run.get("results")
        if not isinstance(recorded, str):
            raise DataError(f"{run_file}: names no results folder; pass the fits (fits=...)")
        fits = load_fits(folder / recorded)
    if isinstance(study, Study):
        the_study = study
    elif fits.folder is not None:
        the_study = resolve_study(fits.folder, study).study
    elif study is not None:
        the_study = load_study(study)
    else:
        raise SpecError(f"{folder}: the fits have no results folder to find the study in; pass study=...")
    seed = int(run.get("seed", the_study.seed))
    the_study = the_study.with_seed(seed)
    shap_file = folder / "shap_values.parquet"
    explanations = _shap_from_table(pd.read_parquet(shap_file)) if shap_file.is_file() else {}
    explained = set(explanations)
    narratives_file = folder / "narratives.json"
    story = json.loads(narratives_file.read_text(encoding="utf-8")) if narratives_file.is_file() else {}
    targets = [str(t) for t in run.get("targets", [])] or list(dict.fromkeys(k[0] for k in explained))
    physics = folder / "physics_check.csv"
    notes_file = folder / "notes.txt"
    settings = {k: v for k, v in run.items() if k not in ("study", "seed", "results", "explained")}
    outcome = Explanations(
        study=the_study,
        fits=fits,
        importance=_read_csv(folder / "importance.csv"),
        shap=explanations,
        agreement=_read_csv(folder / "agreement.csv"),
        expectations=_read_csv(folder / "expectations.csv"),
        influential=_read_csv(folder / "influential.csv"),
        narratives=story,
        lead=_written_lead(story, fits, explained) or lead_fits(fits, targets, explained),
        physics=_read_csv(physics) if physics.is_file() else None,
        notes=notes_file.read_text(encoding="utf-8").splitlines() if notes_file.is_file() else [],
        files=sorted(p for p in folder.rglob("*") if p.is_file()),
        seed=seed,
        settings=settings,
        warnings=_read_csv(folder / "warnings.csv").reindex(columns=WARNING_COLUMNS).fillna(""),
        collinearity=_read_csv(folder / "collinearity.csv").reindex(columns=COLLINEARITY_COLUMNS),
        uncertainty=_read_csv(folder / "uncertainty.csv").reindex(columns=UNCERTAINTY_COLUMNS),
        ranks=_read_csv(folder / "ranks.csv").reindex(columns=RANKS_COLUMNS),
        claims=_read_csv(folder / "claims.csv", keep_default_na=False).reindex(columns=CLAIM_COLUMNS),
    )
    window_file = folder / "window.json"
    if window_file.is_file():
        summary = json.loads(window_file.read_text(encoding="utf-8"))
        outcome.window = Window(
            requirements=[parse_requirement(r, the_study) for r in summary["requirements"]],
            grid=_read_csv(folder / "window.csv"),
            models={r: fits[(r, m["scenario"], m["family"])] for r, m in summary["models"].items()},
            half_widths={str(k): float(v) for k, v in summary["interval_half_widths"].items()},
            recommended=summary.get("recommended"),
            notes=list(summary.get("notes", [])),
            recommendation=summary.get("recommendation"),
        )
    return outcome
