"""The explanation stage: every fit of a results folder explained, checked and put into words.

:func:`explain` reads RESULTS_DIR (written by ``glassline fit``), explains every target × scenario ×
family whose scenario is explainable (collinear scenarios are skipped and listed in ``notes``, or
explained and flagged with ``include_unexplainable=True``), and writes to OUT_DIR (default
``RESULTS_DIR/explanations``):

- ``importance.csv``: one row per fit × method × input (see :mod:`glassline.explain._importance`);
- ``shap_values.parquet``: target, scenario, family, row_id, feature, value, shap, base_value for every
  training row of every explained fit;
- ``agreement.csv``: Kendall τ between every two rankings of a target × scenario, beside the R²;
- ``expectations.csv``: the study's expert expectations, pass / fail per fit;
- ``influential.csv``: rows whose removal changes the fit most (candidates for data and label checks);
- ``narratives.json`` / ``narratives.md``: statements and role views per target;
- ``window.csv`` / ``window.json`` and ``figures/window/``: with *requirements*, the process window
  (see :mod:`glassline.explain._window`);
- ``physics_check.csv`` and ``figures/physics/``: the data's domain physics check, if it has one
  (see :mod:`glassline.explain._physics_check`);
- ``figures/<target>/<scenario>/``: ``<family>_beeswarm.png``, ``<family>_bar.png``, ``<family>_mdi.png``,
  ``<family>_coefficients.png``; for the lead model ``dependence_<input>.png`` and
  ``contour_<x>_<y>.png``.

The study (labels, units, factor ranges, expectations) comes from *study*, else the copy ``study.toml``
RESULTS_DIR keeps, the file run.json records, a ``study.toml`` in the parent folder, or the shipped study
whose name run.json records (see :func:`glassline.models.resolve_study`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shap
from joblib import Parallel, delayed

from glassline.exceptions import DataError, SpecError, did_you_mean
from glassline.explain import _figures as figures
from glassline.explain._agreement import agreement
from glassline.explain._expectations import check_expectations, factor_bounds
from glassline.explain._importance import (
    coefficient_importance,
    explanation_for,
    finish,
    input_range,
    mdi_importance,
    normalized_coefficients,
    partial_dependence,
    pd_direction,
    permutation_table,
    shap_importance,
)
from glassline.explain._influence import influential_points
from glassline.explain._narrative import narratives, write_narratives
from glassline.explain._physics_check import run_physics_checks
from glassline.explain._uncertainty import bootstrap_importance
from glassline.explain._window import Requirement, Window, parse_requirement, process_window, window_slice
from glassline.models import Fit, FitKey, Fits, load_fits, resolve_study
from glassline.spec import Study

__all__ = ["Explanations", "explain"]

ProgressCallback = Callable[[str, int, int], None]


@dataclass
class Explanations:
    """What :func:`explain` computed; ``files`` lists what it wrote."""

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


def _check_folder(results_dir: Path) -> None:
    if not results_dir.exists():
        raise DataError(f"{results_dir}: no such folder; expected a results folder written by 'glassline fit'")
    if not results_dir.is_dir() or not (results_dir / "results.csv").exists():
        raise DataError(f"{results_dir}: not a results folder (no results.csv); run 'glassline fit' first")


def _groups(results_dir: Path) -> pd.DataFrame:
    path = results_dir / "predictions.parquet"
    if not path.exists():
        return pd.DataFrame(columns=["target", "scenario", "family", "row_id", "group"])
    table = pd.read_parquet(path, columns=["target", "scenario", "family", "row_id", "group"])
    return table.drop_duplicates(["target", "scenario", "family", "row_id"])


def _explain_fit(
    fit: Fit,
    groups: pd.Series | None,
    n_boot: int,
    seed: int,
    n_repeats: int,
    bounds: dict[str, tuple[float, float]],
) -> tuple[pd.DataFrame, shap.Explanation]:
    """importance rows of one fit (every method that applies) and its SHAP explanation."""
    explanation = explanation_for(fit, seed=seed)
    tables = []
    s = shap_importance(explanation)
    ci = pd.DataFrame(columns=["method", "feature", "ci_low", "ci_high", "direction_agreement"])
    if n_boot > 0:
        labels = groups if groups is not None else pd.Series(dtype=str)
        ci = bootstrap_importance(fit, labels, n_boot=n_boot, seed=seed)

    def with_ci(table: pd.DataFrame, method: str) -> pd.DataFrame:
        part = ci[ci["method"] == method].drop(columns="method")
        return table.merge(part, on="feature", how="left") if len(part) else table

    tables.append(finish(with_ci(s, "shap"), fit, "shap"))

    def pd_sign(feature: str) -> int:
        low, high = input_range(fit, feature, bounds)
        return pd_direction(partial_dependence(fit, feature, np.linspace(low, high, 21)))

    pd_signs = {f: pd_sign(f) for f in fit.inputs}
    mdi = mdi_importance(fit)
    if mdi is not None:
        mdi["direction"] = mdi["feature"].map(pd_signs)
        tables.append(finish(with_ci(mdi, "mdi"), fit, "mdi"))
    coef = coefficient_importance(fit)
    if coef is not None:
        tables.append(finish(with_ci(coef.drop(columns="value"), "coef"), fit, "coef"))
    perm = permutation_table(fit, n_repeats=n_repeats, seed=seed)
    if perm is not None:
        perm["direction"] = perm["feature"].map(pd_signs)
        tables.append(finish(perm, fit, "permutation"))
    return pd.concat(tables, ignore_index=True), explanation


def _choose(kind: str, wanted: Iterable[str] | None, available: list[str]) -> list[str]:
    if wanted is None:
        return available
    chosen = list(wanted)
    for name in chosen:
        if name not in available:
            raise SpecError(
                f"{kind}: {name!r} is not in the results; expected one of {available}." + did_you_mean(name, available)
            )
    return chosen


def lead_fits(fits: Fits, targets: Iterable[str], explained: set[FitKey]) -> dict[str, Fit]:
    """Per target, the best family of its best explainable scenario (by pooled CV R²)."""
    results = fits.results
    lead: dict[str, Fit] = {}
    for target in targets:
        best = results[(results["target"] == target) & results["best"].astype(bool)]
        best = best[
            [(target, str(s), str(f)) in explained for s, f in zip(best["scenario"], best["family"], strict=True)]
        ]
        if best.empty:
            continue
        preferred = best[best["explainable"].astype(bool)]
        row = (preferred if not preferred.empty else best).sort_values("cv_r2_pooled", ascending=False).iloc[0]
        lead[target] = fits[(target, str(row["scenario"]), str(row["family"]))]
    return lead


def explain(
    results_dir: str | Path,
    out_dir: str | Path | None = None,
    *,
    study: Study | str | Path | None = None,
    targets: Iterable[str] | None = None,
    families: Iterable[str] | None = None,
    bootstrap: int = 0,
    n_jobs: int = 1,
    include_unexplainable: bool = False,
    plots: bool = True,
    influence: bool = True,
    requirements: Iterable[str | Requirement] = (),
    level: float = 0.9,
    seed: int = 0,
    progress: ProgressCallback | None = None,
) -> Explanations:
    """Explain every fit of RESULTS_DIR and write the tables, narratives and figures to *out_dir*.

    *study*: the study (or its file) when RESULTS_DIR does not say (see :func:`glassline.models.resolve_study`).
    *targets* / *families* narrow what is explained (did-you-mean errors for unknown names).
    *bootstrap* grouped bootstrap refits per fit give CIs on SHAP, MDI and coefficient importance
    (0: none). *n_jobs* worker processes explain fits in parallel (-1: all cores).
    *include_unexplainable* also explains collinear scenarios (flagged ``explainable = False``).
    *plots* / *influence* switch off the figures / the influential-points refits.
    *requirements* (``"adhesion_strength>=400"`` or :class:`Requirement`) add the process window,
    with conformal intervals at coverage *level*. ``progress(label, done, total)`` after each fit.
    See the module docstring for the files.

    >>> explanations = explain("results", requirements=["adhesion_strength>=400"])  # doctest: +SKIP
    >>> explanations.narratives["adhesion_strength"]["statements"][0]               # doctest: +SKIP
    """
    folder = Path(results_dir)
    _check_folder(folder)
    source = resolve_study(folder, study)
    the_study = source.study
    wanted = [parse_requirement(r, the_study) for r in requirements]
    fits = load_fits(folder)
    results = fits.results
    chosen_targets = _choose("targets", targets, list(dict.fromkeys(results["target"].astype(str))))
    chosen_families = _choose("families", families, list(dict.fromkeys(results["family"].astype(str))))
    notes: list[str] = [source.note] if source.note else []
    keys: list[FitKey] = []
    flags: dict[FitKey, bool] = {}
    for key in fits:
        target, scenario, family = key
        if target not in chosen_targets or family not in chosen_families:
            continue
        row = results[(results["target"] == target) & (results["scenario"] == scenario) & (results["family"] == family)]
        flags[key] = bool(row["explainable"].iloc[0])
        if not flags[key] and not include_unexplainable:
            note = f"{target} / {scenario}: skipped, not explainable (collinear inputs; see collinearity.csv)"
            if note not in notes:
                notes.append(note)
            continue
        keys.append(key)
    # results.csv is the record of the collinearity check: the fits carry its flag
    fits = Fits(results, {k: dataclasses.replace(fits[k], explainable=flags[k]) for k in keys}, folder=folder)
    groups = _groups(folder)
    bounds = factor_bounds(the_study)
    tasks = []
    for key in keys:
        part = groups[(groups["target"] == key[0]) & (groups["scenario"] == key[1]) & (groups["family"] == key[2])]
        tasks.append((fits[key], part.set_index("row_id")["group"].astype(str) if len(part) else None))
    if n_jobs == 0 or n_jobs < -1:
        raise SpecError(f"n_jobs: expected a positive number of worker processes (or -1 for all), got {n_jobs}")
    if progress:
        progress("", 0, len(tasks))
    jobs = (delayed(_explain_fit)(fit, g, bootstrap, seed, 20, bounds) for fit, g in tasks)
    stream = (
        (_explain_fit(fit, g, bootstrap, seed, 20, bounds) for fit, g in tasks)
        if n_jobs == 1
        else Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    )
    tables: list[pd.DataFrame] = []
    explanations: dict[FitKey, shap.Explanation] = {}
    for done, ((fit, _), (table, explanation)) in enumerate(zip(tasks, stream, strict=True), start=1):
        tables.append(table)
        explanations[fit.key] = explanation
        if progress:
            progress(" · ".join(fit.key), done, len(tasks))
    if not tables:
        raise DataError(f"{folder}: nothing to explain (every chosen scenario is marked not explainable)")
    importance = pd.concat(tables, ignore_index=True)
    agree = agreement(importance, results)
    lead = lead_fits(fits, chosen_targets, set(keys))
    best_keys = {
        (str(t), str(s), str(f))
        for t, s, f, b in results[["target", "scenario", "family", "best"]].itertuples(index=False)
        if b
    }
    expectations = check_expectations(the_study, [fits[k] for k in keys], best_keys)
    # influential points for the published candidates (best family per target × scenario): the
    # leave-one-configuration-out refits of every family would cost more than the rest of the stage
    candidates = [k for k in keys if k in best_keys] or keys
    influential = (
        influential_points([fits[k] for k in candidates], {fit.key: g for fit, g in tasks}, n_jobs=n_jobs)
        if influence
        else pd.DataFrame()
    )
    out = folder / "explanations" if out_dir is None else Path(out_dir)
    ranked = results[results["best"].astype(bool)].sort_values("cv_r2_pooled", ascending=False)
    best_fits: dict[str, list[Fit]] = {}
    for t, sc, fam in ranked[["target", "scenario", "family"]].itertuples(index=False):
        if (str(t), str(sc), str(fam)) in explanations:
            best_fits.setdefault(str(t), []).append(fits[(str(t), str(sc), str(fam))])
    physics = run_physics_checks(folder, the_study, lead, best_fits, out / "figures" / "physics" if plots else None)
    story = narratives(
        the_study, lead, explanations, importance, results, agree, expectations, physics.table if physics else None
    )
    outcome = Explanations(
        study=the_study,
        fits=fits,
        importance=importance,
        shap=explanations,
        agreement=agree,
        expectations=expectations,
        influential=influential,
        narratives=story,
        lead=lead,
        physics=physics.table if physics else None,
        notes=notes,
    )
    if wanted:
        outcome.window = process_window(fits, the_study, wanted, level=level, results_dir=folder, explained=keys)
    outcome.files = write(outcome, out, plots=plots, n_jobs=n_jobs)
    if physics is not None:
        physics.table.to_csv(out / "physics_check.csv", index=False)
        outcome.files += [out / "physics_check.csv", *physics.figures]
    return outcome


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


def write(outcome: Explanations, out: Path, *, plots: bool = True, n_jobs: int = 1) -> list[Path]:
    """Write the tables, narratives and (if *plots*) figures to folder *out*."""
    if out.exists() and not out.is_dir():
        raise DataError(f"{out}: exists and is not a folder; give a folder for the explanations")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in (
        ("importance.csv", outcome.importance),
        ("agreement.csv", outcome.agreement),
        ("expectations.csv", outcome.expectations),
        ("influential.csv", outcome.influential),
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
    if plots:
        written += write_figures(outcome, out / "figures", n_jobs=n_jobs)
    return written


def _fit_figures(
    e: shap.Explanation, fit: Fit, rows: pd.DataFrame, labels: dict[str, str], where: Path, title: str
) -> list[Path]:
    """Beeswarm, bar, MDI and coefficient figures of one fit (one worker task)."""
    family = fit.family
    written = [
        figures.shap_beeswarm(e, where / f"{family}_beeswarm.png", labels, title),
        figures.shap_bar(e, where / f"{family}_bar.png", labels, title),
    ]
    mdi = rows[rows["method"] == "mdi"]
    if not mdi.empty:
        names = [labels.get(f, f) for f in mdi["feature"]]
        written.append(figures.mdi_figure(names, mdi["importance"], where / f"{family}_mdi.png", title))
    c = normalized_coefficients(fit)
    if c is not None:
        names = [labels.get(f, f) for f in fit.inputs]
        written.append(figures.coefficient_figure(names, c, where / f"{family}_coefficients.png", title))
    return written


def write_figures(outcome: Explanations, folder: Path, *, n_jobs: int = 1) -> list[Path]:
    study = outcome.study
    labels = {c.name: c.display for c in study.columns()}
    bounds = factor_bounds(study)
    imp = outcome.importance
    tasks = []
    for key, e in outcome.shap.items():
        target, scenario, family = key
        rows = imp[(imp["target"] == target) & (imp["scenario"] == scenario) & (imp["family"] == family)]
        title = f"{labels.get(target, target)} · {family}"
        tasks.append((e, outcome.fits[key], rows, labels, folder / target / scenario, title))
    if n_jobs == 1:
        per_fit = [_fit_figures(*task) for task in tasks]
    else:
        per_fit = Parallel(n_jobs=n_jobs)(delayed(_fit_figures)(*task) for task in tasks)
    written: list[Path] = [path for paths in per_fit for path in paths]
    for target, fit in outcome.lead.items():
        where = folder / target / fit.scenario
        e = outcome.shap[fit.key]
        order = np.argsort(-np.abs(np.asarray(e.values)).mean(axis=0))
        title = f"{labels.get(target, target)} · {fit.family} (lead model)"
        for j in order[:3]:
            name = fit.inputs[j]
            written.append(figures.shap_dependence(e, name, where / f"dependence_{name}.png", labels, title))
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
