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
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shap
from joblib import Parallel, delayed

from glassline.exceptions import DataError, SpecError, UnknownNameError, did_you_mean
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
from glassline.models import Comparison, Fit, FitKey, Fits, load_fits, resolve_study
from glassline.spec import Study, load_study

__all__ = ["Explanations", "explain"]

ProgressCallback = Callable[[str, int, int], None]


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

    def write(self, folder: str | Path, *, plots: bool = True, n_jobs: int = 1) -> list[Path]:
        """Write the tables, narratives, ``run.json`` and (if *plots*) figures to *folder*; returns the files."""
        written = write(self, Path(folder), plots=plots, n_jobs=n_jobs)
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


def _check_folder(results_dir: Path) -> None:
    if not results_dir.exists():
        raise DataError(f"{results_dir}: no such folder; expected a results folder written by 'glassline fit'")
    if not results_dir.is_dir() or not (results_dir / "results.csv").exists():
        raise DataError(f"{results_dir}: not a results folder (no results.csv); run 'glassline fit' first")


_GROUP_COLUMNS = ["target", "scenario", "family", "row_id", "group"]


def _groups(predictions: pd.DataFrame | Path | None) -> pd.DataFrame:
    """The group of every row of every fit, from the comparison's predictions (or their file)."""
    if isinstance(predictions, Path):
        path = predictions / "predictions.parquet"
        predictions = pd.read_parquet(path, columns=_GROUP_COLUMNS) if path.exists() else None
    if predictions is None or not set(_GROUP_COLUMNS) <= set(predictions.columns):
        return pd.DataFrame(columns=_GROUP_COLUMNS)
    return predictions.loc[:, _GROUP_COLUMNS].drop_duplicates(["target", "scenario", "family", "row_id"])


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
            raise UnknownNameError(
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


@dataclass(frozen=True)
class _Source:
    """What the stage explains: the fits, their results table, the rows' groups, the study and the seed."""

    fits: Fits
    folder: Path | None
    groups: pd.DataFrame
    study: Study
    note: str | None
    seed: int


def _source(results: str | Path | Comparison | Fits, study: Study | str | Path | None, seed: int | None) -> _Source:
    """The fits to explain, from a comparison in memory or a results folder, and the one seed of the run.

    The seed: *seed* if given, else the one the fits were made with (the comparison's, or run.json's),
    else the study's.
    """
    if isinstance(results, Comparison):
        folder = results.folder
        given = study if isinstance(study, Study) else results.study if study is None else None
        if given is not None:
            resolved_study, note = given, None
        elif folder is not None:
            resolved = resolve_study(folder, study)
            resolved_study, note = resolved.study, resolved.note
        elif study is not None and not isinstance(study, Study):
            resolved_study, note = load_study(study), None
        else:
            raise SpecError("explain: the comparison carries no study and was not written to a folder; pass study=")
        recorded = results.settings.get("seed")
        fits, groups = results.fits, _groups(results.predictions)
    else:
        if isinstance(results, Fits):
            if results.folder is None:
                raise SpecError("explain: these fits have no results folder; pass the Comparison or the folder")
            folder = results.folder
        else:
            folder = Path(results)
        _check_folder(folder)
        resolved = resolve_study(folder, study)
        resolved_study, note = resolved.study, resolved.note
        run_file = folder / "run.json"
        recorded = json.loads(run_file.read_text(encoding="utf-8")).get("seed") if run_file.is_file() else None
        fits, groups = (results if isinstance(results, Fits) else load_fits(folder)), _groups(folder)
    if seed is None:
        seed = recorded if isinstance(recorded, int) and not isinstance(recorded, bool) else resolved_study.seed
    resolved_study = resolved_study.with_seed(seed)
    return _Source(fits, folder, groups, resolved_study, note, resolved_study.seed)


def explain(
    results: str | Path | Comparison | Fits,
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
    seed: int | None = None,
    progress: ProgressCallback | None = None,
) -> Explanations:
    """Explain every fit of *results* and write the tables, narratives and figures to *out_dir*.

    *results*: a :class:`~glassline.models.Comparison` in memory, or a results folder (RESULTS_DIR)
    written by ``glassline fit``. *out_dir* defaults to ``RESULTS_DIR/explanations``; a comparison that
    was never written and no *out_dir*: nothing is written.
    *study*: the study (or its file) when the results do not say (see :func:`glassline.models.resolve_study`).
    *targets* / *families* narrow what is explained (did-you-mean errors for unknown names).
    *bootstrap* grouped bootstrap refits per fit give CIs on SHAP, MDI and coefficient importance
    (0: none). *n_jobs* worker processes explain fits in parallel (-1: all cores).
    *include_unexplainable* also explains collinear scenarios (flagged ``explainable = False``).
    *plots* / *influence* switch off the figures / the influential-points refits.
    *requirements* (``"adhesion_strength>=400"`` or :class:`Requirement`) add the process window,
    with conformal intervals at coverage *level*. *seed* seeds permutation importance, the bootstrap
    and sampled SHAP values (default: the seed the results were fitted with, else the study's); the
    outcome and its ``run.json`` record it. ``progress(label, done, total)`` after each fit.
    See the module docstring for the files.

    >>> explanations = explain("results", requirements=["adhesion_strength>=400"])  # doctest: +SKIP
    >>> explanations.narratives["adhesion_strength"]["statements"][0]               # doctest: +SKIP
    """
    source = _source(results, study, seed)
    folder, the_study, seed = source.folder, source.study, source.seed
    wanted = [parse_requirement(r, the_study) for r in requirements]
    fits = source.fits
    results_table = fits.results
    chosen_targets = _choose("targets", targets, list(dict.fromkeys(results_table["target"].astype(str))))
    chosen_families = _choose("families", families, list(dict.fromkeys(results_table["family"].astype(str))))
    notes: list[str] = [source.note] if source.note else []
    keys: list[FitKey] = []
    flags: dict[FitKey, bool] = {}
    for key in fits:
        target, scenario, family = key
        if target not in chosen_targets or family not in chosen_families:
            continue
        row = results_table[
            (results_table["target"] == target)
            & (results_table["scenario"] == scenario)
            & (results_table["family"] == family)
        ]
        flags[key] = bool(row["explainable"].iloc[0])
        if not flags[key] and not include_unexplainable:
            note = f"{target} / {scenario}: skipped, not explainable (collinear inputs; see collinearity.csv)"
            if note not in notes:
                notes.append(note)
            continue
        keys.append(key)
    # results.csv is the record of the collinearity check: the fits carry its flag
    fits = Fits(results_table, {k: dataclasses.replace(fits[k], explainable=flags[k]) for k in keys}, folder=folder)
    groups = source.groups
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
        where = folder if folder is not None else "the comparison"
        raise DataError(f"{where}: nothing to explain (every chosen scenario is marked not explainable)")
    importance = pd.concat(tables, ignore_index=True)
    agree = agreement(importance, results_table)
    lead = lead_fits(fits, chosen_targets, set(keys))
    best_keys = {
        (str(t), str(s), str(f))
        for t, s, f, b in results_table[["target", "scenario", "family", "best"]].itertuples(index=False)
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
    out = Path(out_dir) if out_dir is not None else folder / "explanations" if folder is not None else None
    ranked = results_table[results_table["best"].astype(bool)].sort_values("cv_r2_pooled", ascending=False)
    best_fits: dict[str, list[Fit]] = {}
    for t, sc, fam in ranked[["target", "scenario", "family"]].itertuples(index=False):
        if (str(t), str(sc), str(fam)) in explanations:
            best_fits.setdefault(str(t), []).append(fits[(str(t), str(sc), str(fam))])
    physics = (
        run_physics_checks(
            folder, the_study, lead, best_fits, out / "figures" / "physics" if plots and out is not None else None
        )
        if folder is not None
        else None
    )
    physics_table = physics.table if physics else None
    story = narratives(the_study, lead, explanations, importance, results_table, agree, expectations, physics_table)
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
        physics=physics_table,
        notes=notes,
        seed=seed,
        settings={
            "bootstrap": bootstrap,
            "level": level,
            "requirements": [str(r) for r in wanted],
            "targets": chosen_targets,
            "families": chosen_families,
            "include_unexplainable": include_unexplainable,
        },
    )
    if wanted:
        outcome.window = process_window(fits, the_study, wanted, level=level, results_dir=folder, explained=keys)
    if physics is not None:
        outcome.files = list(physics.figures)
    if out is not None:
        outcome.write(out, plots=plots, n_jobs=n_jobs)
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


# ----------------------------------------------------------------------------- reading a folder back
def _read_csv(path: Path) -> pd.DataFrame:
    """A table the stage wrote; an empty one (no rows and no columns) reads as an empty frame."""
    if not path.is_file():
        return pd.DataFrame()
    try:
        return pd.read_csv(path)
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
        lead=lead_fits(fits, targets, explained),
        physics=_read_csv(physics) if physics.is_file() else None,
        notes=notes_file.read_text(encoding="utf-8").splitlines() if notes_file.is_file() else [],
        files=sorted(p for p in folder.rglob("*") if p.is_file()),
        seed=seed,
        settings=settings,
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
        )
    return outcome
