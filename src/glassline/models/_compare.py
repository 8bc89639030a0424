"""The comparison grid: every target × scenario × family, on the paper's split and in grouped CV.

:func:`compare` plans one task per target × scenario × family × outer split (the paper's split and
each cross-validation fold), runs them with joblib (local processes by default; any joblib backend
configured around the call is used instead), and assembles the metrics, predictions and fitted
pipelines into a :class:`~glassline.models.Comparison`.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn import config_context
from sklearn.pipeline import Pipeline

from glassline._cluster import map_tasks
from glassline._progress import ProgressCallback
from glassline.data import PreparedDataset
from glassline.exceptions import DataError, SpecError, UnknownNameError, did_you_mean
from glassline.models._dataset import DataSource, TargetData, load_target
from glassline.models._lack_of_fit import LackOfFit, lack_of_fit
from glassline.models._metrics import (
    Collinearity,
    collinearity,
    mse_ratio,
    r2,
    rmse,
)
from glassline.models._registry import DataSize, family_names, get_family
from glassline.models._results import RESULT_COLUMNS, Comparison, Fit, FitKey, Fits
from glassline.models._splits import CVScheme, Fold, _seed, cross_validation_folds, paper_split
from glassline.models._tuning import TuningSpace, fit_tuned, tuning_space
from glassline.spec import Study

__all__ = ["check_selection", "compare"]

IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class _Task:
    key: FitKey
    split: Literal["paper", "cv"]
    repeat: int
    fold: int
    X: pd.DataFrame
    y: pd.Series
    groups: npt.NDArray[Any] | None
    train: IntArray
    test: IntArray
    seed: int
    inner_folds: int
    space: dict[str, list[Any]]


@dataclass(frozen=True)
class _Outcome:
    key: FitKey
    split: Literal["paper", "cv"]
    repeat: int
    fold: int
    train: IntArray
    test: IntArray
    pred_train: npt.NDArray[np.float64] | None
    pred_test: npt.NDArray[np.float64]
    params: dict[str, Any]
    n_fits: int
    seconds: float
    cpu_seconds: float
    pipeline: Pipeline | None


def _run(task: _Task) -> _Outcome:
    """Tune on the task's training rows, refit, predict its test rows (runs in a worker)."""
    start, cpu = time.perf_counter(), time.process_time()
    family = get_family(task.key[2])
    # The paper split's pipeline is kept, so it is fitted on a DataFrame and knows its feature names;
    # a CV fold's pipeline is thrown away, so it runs on arrays (less per-call overhead, same numbers).
    X: pd.DataFrame | npt.NDArray[np.float64] = task.X if task.split == "paper" else task.X.to_numpy(dtype=float)
    y = task.y.to_numpy(dtype=float)
    X_train = X.iloc[task.train] if isinstance(X, pd.DataFrame) else X[task.train]
    X_test = X.iloc[task.test] if isinstance(X, pd.DataFrame) else X[task.test]
    groups = task.groups[task.train] if task.groups is not None else None
    inner_seed = _seed(task.seed, 1 if task.split == "cv" else 0, task.repeat + 1, task.fold + 1)
    # Inputs were checked finite and the registry's parameters by its conformance test: skip both
    # checks in the thousands of small fits.
    with config_context(assume_finite=True, skip_parameter_validation=True):
        tuned = fit_tuned(
            family,
            X_train,
            y[task.train],
            groups,
            seed=task.seed,
            folds=task.inner_folds,
            split_seed=inner_seed,
            space=task.space,
        )
        pred_test = np.asarray(tuned.pipeline.predict(X_test), dtype=float)
        pred_train = np.asarray(tuned.pipeline.predict(X_train), dtype=float) if task.split == "paper" else None
    return _Outcome(
        key=task.key,
        split=task.split,
        repeat=task.repeat,
        fold=task.fold,
        train=task.train,
        test=task.test,
        pred_train=pred_train,
        pred_test=pred_test,
        params=tuned.params,
        n_fits=tuned.n_fits,
        seconds=time.perf_counter() - start,
        cpu_seconds=time.process_time() - cpu,
        pipeline=tuned.pipeline if task.split == "paper" else None,
    )


def _choose(kind: str, given: Iterable[str] | None, valid: Sequence[str], default: Sequence[str]) -> list[str]:
    if given is None:
        return list(default)
    if isinstance(given, str):
        given = [given]
    chosen = []
    for name in given:
        if name not in valid:
            raise UnknownNameError(
                f"{kind}: unknown name {name!r}; expected one of {list(valid)}." + did_you_mean(name, valid)
            )
        if name not in chosen:
            chosen.append(name)
    if not chosen:
        raise SpecError(f"{kind}: the selection is empty; choose at least one of {list(valid)}")
    return chosen


def check_selection(
    study: Study,
    *,
    families: Iterable[str] | None = None,
    scenarios: Iterable[str] | None = None,
    targets: Iterable[str] | None = None,
) -> tuple[list[str], list[str], list[str]]:
    """The families, scenarios and targets a comparison of *study* fits (None: the study's own).

    A name that is not a registered family, a scenario or a response of the study raises
    :class:`~glassline.exceptions.UnknownNameError` naming the valid ones, with a did-you-mean.
    """
    return (
        _choose("families", families, family_names(), study.models.families),
        _choose("scenarios", scenarios, list(study.scenarios), list(study.scenarios)),
        _choose("targets", targets, study.response_names, study.response_names),
    )


def _cv_description(scheme: CVScheme, data: TargetData, folds: int, repeats: int) -> str:
    if data.group_column is None:
        return f"{folds}-fold cross-validation × {repeats} repeats over rows (no group column)"
    if scheme is CVScheme.LOGO:
        return f"leave-one-group-out cross-validation by `{data.group_column}`"
    return (
        f"grouped {folds}-fold cross-validation × {repeats} repeats by `{data.group_column}` "
        "(replicates of a configuration never on both sides)"
    )


@dataclass(frozen=True)
class _Plan:
    """The outer splits of one target, shared by its scenarios and families."""

    train: IntArray
    test: IntArray
    folds: list[Fold]
    description: str


def _plan(study: Study, td: TargetData, scheme: CVScheme) -> _Plan:
    n = len(td.frame)
    try:
        train, test = paper_split(n, study.split.test_fraction, study.seed)
    except DataError as exc:
        raise DataError(f"{td.source}, target {td.target!r}: {exc}") from None
    folds = cross_validation_folds(
        n,
        td.groups,
        folds=study.split.cv_folds,
        repeats=study.split.cv_repeats,
        seed=study.seed,
        scheme=scheme,
        where=f"{td.source}, target {td.target!r}",
    )
    return _Plan(train, test, folds, _cv_description(scheme, td, study.split.cv_folds, study.split.cv_repeats))


def _tasks(
    key: FitKey, td: TargetData, inputs: Sequence[str], plan: _Plan, seed: int, tuning: TuningSpace
) -> list[_Task]:
    """The paper split's task and one task per CV fold for one target × scenario × family."""
    X, y = td.frame.loc[:, list(inputs)], td.frame[td.target]
    space = {k: list(v) for k, v in tuning.space.items()}
    inner = tuning.folds
    tasks = [_Task(key, "paper", -1, -1, X, y, td.groups, plan.train, plan.test, seed, inner, space)]
    tasks += [
        _Task(key, "cv", f.repeat, f.fold, X, y, td.groups, f.train, f.test, seed, inner, space) for f in plan.folds
    ]
    return tasks


def compare(
    study: Study,
    data: str | Path | pd.DataFrame | PreparedDataset,
    *,
    seed: int | None = None,
    families: Iterable[str] | None = None,
    scenarios: Iterable[str] | None = None,
    targets: Iterable[str] | None = None,
    cv: CVScheme | str = CVScheme.GROUPED,
    n_jobs: int = 2,
    inner_folds: int = 3,
    vif_limit: float | None = None,
    r_limit: float | None = None,
    progress: ProgressCallback | None = None,
) -> Comparison:
    """Compare model families for every target × scenario of *study* on *data*.

    *data* is the prepare stage's :class:`~glassline.data.PreparedDataset` or its folder, one table
    file, or a DataFrame. *seed* (default: the study's) seeds the paper's split, the CV folds, the
    inner tuning folds and the models; the comparison's ``study`` carries it. *families*, *scenarios*
    and *targets* narrow the grid (default: the study's families, every scenario, every response).
    Every family of a target sees the same paper-split test rows and the same CV folds. *n_jobs*
    worker processes (joblib; 1 runs in this process). ``progress(label, done, total)`` is called
    after each finished task. *vif_limit* / *r_limit*: the hard collinearity limits (default: the
    study's ``[models]`` ones); beyond the soft ones a scenario is marked ``collinear`` (a warning).
    What nested tuning searches follows the size of each target's data (:func:`~glassline.models.tuning_space`;
    *inner_folds* is the number of inner folds of small data); ``settings["tuning_spaces"]`` records it.
    """
    start = time.perf_counter()
    study = study.with_seed(seed)
    schemes = [s.value for s in CVScheme]
    if str(getattr(cv, "value", cv)) not in schemes:
        raise SpecError(f"cv: unknown scheme {cv!r}; expected one of {schemes}." + did_you_mean(str(cv), schemes))
    scheme = CVScheme(cv)
    chosen_families, chosen_scenarios, chosen_targets = check_selection(
        study, families=families, scenarios=scenarios, targets=targets
    )
    if n_jobs == 0 or n_jobs < -1:
        raise SpecError(f"n_jobs: expected a positive number of worker processes (or -1 for all), got {n_jobs}")
    source = DataSource(data)
    notes: list[str] = []
    datasets: dict[str, TargetData] = {}
    for target in chosen_targets:
        own = [s for s in study.scenarios_for(target) if s in chosen_scenarios]
        if not own:
            if targets is not None:
                notes.append(f"{target}: none of the chosen scenarios applies to it; skipped")
            continue
        datasets[target] = load_target(study, source, target, own)
    if not datasets:
        raise SpecError(
            f"no target has any of the chosen scenarios {chosen_scenarios}; "
            f"scenarios per target: { {t: list(study.scenarios_for(t)) for t in chosen_targets} }"
        )

    tasks: list[_Task] = []
    limits = study.models.collinearity_limits
    checks: dict[tuple[str, str], Collinearity] = {}
    plans: dict[str, _Plan] = {}
    spaces: list[dict[str, Any]] = []
    for target, td in datasets.items():
        plans[target] = _plan(study, td, scheme)
        if td.dropped:
            shown = "; ".join(td.dropped_rows[:5]) + ("; …" if len(td.dropped_rows) > 5 else "")
            rows = "1 row lacks" if td.dropped == 1 else f"{td.dropped} rows lack"
            notes.append(f"{target}: {rows} the target or an input in {td.source}, left out ({shown} missing)")
        constant = _constant_value(td.frame[target])
        if constant is not None:
            notes.append(
                f"{target}: constant ({constant:g} in all {len(td.frame)} rows of {td.source}), so R² is undefined "
                "(left blank) and no family can explain it; check the column or leave this target out"
            )
        if td.group_column is None:
            notes.append(
                f"{target}: no group column in the study (`[data] group`), so cross-validation is plain K-fold over "
                "rows; if rows are replicates of configurations, its R² is optimistic too"
            )
        for scenario, inputs in td.scenarios.items():
            check = collinearity(
                td.frame,
                inputs,
                vif_limit=limits.hard_vif if vif_limit is None else vif_limit,
                r_limit=limits.hard_r if r_limit is None else r_limit,
                soft_vif_limit=limits.soft_vif,
                soft_r_limit=limits.soft_r,
            )
            checks[(target, scenario)] = check
            if not check.explainable:
                notes.append(f"{target} / {scenario}: not explainable: {check.reason}")
            size = DataSize(rows=len(td.frame), groups=td.n_groups, inputs=len(inputs))
            for family in chosen_families:
                tuning = tuning_space(get_family(family), size, folds=inner_folds)
                spaces.append({"target": target, "scenario": scenario, **tuning.to_dict()})
                tasks.extend(_tasks((target, scenario, family), td, inputs, plans[target], study.seed, tuning))

    outcomes: list[_Outcome] = []
    total = len(tasks)
    if progress:
        progress("", 0, total)
    # where the tasks run: glassline._cluster (local processes, or the active Dask cluster)
    stream: Iterable[_Outcome] = map_tasks(_run, ((task,) for task in tasks), n_jobs=n_jobs, ordered=False)
    for done, outcome in enumerate(stream, start=1):
        outcomes.append(outcome)
        if progress:
            progress(" · ".join(outcome.key), done, total)
    grid_seconds = time.perf_counter() - start

    comparison = _assemble(study, datasets, plans, checks, chosen_families, outcomes, notes)
    comparison.settings.update(
        {
            "seed": study.seed,
            "test_fraction": study.split.test_fraction,
            "cv": scheme.value,
            "cv_folds": study.split.cv_folds,
            "cv_repeats": study.split.cv_repeats,
            "cv_description": "; ".join(sorted({p.description for p in plans.values()})),
            "inner_folds": inner_folds,
            # what nested tuning searched per target × scenario × family, and why (the size rule of
            # glassline.models.tuning_space)
            "tuning_spaces": spaces,
            "vif_limit": limits.hard_vif if vif_limit is None else vif_limit,
            "r_limit": limits.hard_r if r_limit is None else r_limit,
            "soft_vif_limit": limits.soft_vif,
            "soft_r_limit": limits.soft_r,
            "families": chosen_families,
            "n_jobs": n_jobs,
            "n_tasks": total,
            "n_model_fits": int(sum(o.n_fits for o in outcomes)),
            "task_seconds": float(sum(o.seconds for o in outcomes)),
            "task_cpu_seconds": float(sum(o.cpu_seconds for o in outcomes)),
            "wall_seconds": grid_seconds,
            "cpu_count": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "data": source.name,
            "labels": {c.name: c.display for c in study.columns()},
        }
    )
    return comparison


def _assemble(
    study: Study,
    datasets: dict[str, TargetData],
    plans: dict[str, _Plan],
    checks: dict[tuple[str, str], Collinearity],
    families: list[str],
    outcomes: list[_Outcome],
    notes: list[str],
) -> Comparison:
    by_key: dict[FitKey, list[_Outcome]] = {}
    for outcome in outcomes:
        by_key.setdefault(outcome.key, []).append(outcome)
    predictions: list[pd.DataFrame] = []
    tuning: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    fits: dict[FitKey, Fit] = {}
    collinear: list[dict[str, Any]] = []
    for target, td in datasets.items():
        row_ids = td.frame.index.to_numpy()
        y_all = td.frame[target].to_numpy(dtype=float)
        groups = td.groups if td.groups is not None else np.full(len(row_ids), "", dtype=np.str_)
        train, test, description = plans[target].train, plans[target].test, plans[target].description
        for scenario, inputs in td.scenarios.items():
            check = checks[(target, scenario)]
            collinear.append(
                {
                    "target": target,
                    "scenario": scenario,
                    "inputs": ",".join(inputs),
                    "max_vif": check.max_vif,
                    "max_abs_r": check.max_abs_r,
                    "worst_pair": " ~ ".join(check.worst_pair) if check.worst_pair else "",
                    "explainable": check.explainable,
                    "reason": check.reason,
                    "collinear": check.collinear,
                    "warning": check.warning,
                    **{f"vif_{k}": v for k, v in check.vif.items()},
                }
            )
            for family in families:
                key = (target, scenario, family)
                items = sorted(by_key[key], key=lambda o: (o.split != "paper", o.repeat, o.fold))
                paper, cv = items[0], items[1:]
                for o in items:
                    parts = [("test", o.test, o.pred_test)]
                    if o.pred_train is not None:
                        parts.insert(0, ("train", o.train, o.pred_train))
                    for split, positions, pred in parts:
                        predictions.append(
                            pd.DataFrame(
                                {
                                    "row_id": row_ids[positions],
                                    "group": groups[positions],
                                    "target": target,
                                    "scenario": scenario,
                                    "family": family,
                                    "split": "cv" if o.split == "cv" else split,
                                    "repeat": o.repeat,
                                    "fold": o.fold,
                                    "y_true": y_all[positions],
                                    "y_pred": pred,
                                    **({} if td.order is None else {"order": td.order[positions]}),
                                }
                            )
                        )
                    tuning.append(
                        {
                            "target": target,
                            "scenario": scenario,
                            "family": family,
                            "split": o.split,
                            "repeat": o.repeat,
                            "fold": o.fold,
                            "params": json.dumps(o.params, sort_keys=True),
                            "n_fits": o.n_fits,
                            "seconds": o.seconds,
                            "cpu_seconds": o.cpu_seconds,
                        }
                    )
                if paper.pred_train is None or paper.pipeline is None:  # pragma: no cover - set for the paper split
                    raise RuntimeError(f"{key}: the paper split returned no fitted pipeline")
                fold_r2 = np.array([r2(y_all[o.test], o.pred_test) for o in cv])
                fold_rmse = np.array([rmse(y_all[o.test], o.pred_test) for o in cv])
                y_cv = np.concatenate([y_all[o.test] for o in cv]) if cv else np.array([])
                p_cv = np.concatenate([o.pred_test for o in cv]) if cv else np.array([])
                r2_test = r2(y_all[test], paper.pred_test)
                pooled = r2(y_cv, p_cv)
                X = td.frame.loc[:, list(inputs)]
                lof = _lack_of_fit(family, paper.pipeline, X.iloc[train], y_all[train], td.groups, train)
                rows.append(
                    {
                        "target": target,
                        "scenario": scenario,
                        "family": family,
                        "best": False,
                        "n_train": len(train),
                        "n_test": len(test),
                        "r2_train": r2(y_all[train], paper.pred_train),
                        "r2_test": r2_test,
                        "rmse_train": rmse(y_all[train], paper.pred_train),
                        "rmse_test": rmse(y_all[test], paper.pred_test),
                        "mse_ratio": mse_ratio(y_all[train], paper.pred_train, y_all[test], paper.pred_test),
                        "cv_r2_mean": _mean(fold_r2),
                        "cv_r2_std": _std(fold_r2),
                        "cv_r2_pooled": pooled,
                        "cv_rmse_mean": _mean(fold_rmse),
                        "cv_rmse_std": _std(fold_rmse),
                        "optimism": r2_test - pooled,
                        "lof_f": lof.f,
                        "lof_p": lof.p,
                        "lof_df": lof.df,
                        "pure_error_df": lof.pure_error_df,
                        "explainable": check.explainable,
                        "max_vif": check.max_vif,
                        "max_abs_r": check.max_abs_r,
                        "cv_scheme": description,
                        "cv_splits": len(cv),
                        "n_rows": len(row_ids),
                        "n_groups": td.n_groups,
                        "inputs": ",".join(inputs),
                        "params": json.dumps(paper.params, sort_keys=True),
                        "n_fits": sum(o.n_fits for o in items),
                    }
                )
                fits[key] = Fit(
                    target=target,
                    scenario=scenario,
                    family=family,
                    inputs=tuple(inputs),
                    pipeline=paper.pipeline,
                    params=paper.params,
                    explainer=get_family(family).explainer,
                    explainable=check.explainable,
                    X_train=X.iloc[train],
                    y_train=td.frame[target].iloc[train],
                    X_test=X.iloc[test],
                    y_test=td.frame[target].iloc[test],
                )
    results = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    _mark_best(results)
    for row in results[results["best"]].to_dict("records"):
        if not row["cv_r2_pooled"] > 0:
            notes.append(
                f"{row['target']} / {row['scenario']}: no family predicts better than the mean in cross-validation "
                f"(best pooled CV R² {row['cv_r2_pooled']:.2f}, {row['family']})"
            )
    return Comparison(
        study_name=study.name,
        results=results,
        predictions=pd.concat(predictions, ignore_index=True),
        tuning=pd.DataFrame(tuning),
        collinearity=pd.DataFrame(collinear),
        fits=Fits(results, fits),
        notes=notes,
        settings={},
        study=study,
    )


def _lack_of_fit(
    family: str,
    pipeline: Pipeline,
    X_train: pd.DataFrame,
    y_train: npt.NDArray[np.float64],
    groups: npt.NDArray[Any] | None,
    train: IntArray,
) -> LackOfFit:
    """The pure-error lack-of-fit test of the paper split's fit on its training rows (NaN for families
    that are not linear in their parameters)."""
    terms = get_family(family).terms
    if terms is None:
        return LackOfFit.none(f"{family} is not linear in its parameters")
    return lack_of_fit(
        terms(pipeline, X_train),
        y_train,
        None if groups is None else groups[train],
        X_train.to_numpy(dtype=float),
    )


def _constant_value(values: pd.Series) -> float | None:
    """The one value of a target without spread (every row equal), else None."""
    finite = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    if len(finite) == 0 or finite.min() != finite.max():
        return None
    return float(finite[0])


def _mean(values: npt.NDArray[np.float64]) -> float:
    """Mean over the folds where the metric is defined (R² is not on a fold without spread)."""
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else math.nan


def _std(values: npt.NDArray[np.float64]) -> float:
    """Sample standard deviation (ddof 1) over the folds where the metric is defined."""
    finite = values[~np.isnan(values)]
    return float(finite.std(ddof=1)) if finite.size > 1 else math.nan


def _mark_best(results: pd.DataFrame) -> None:
    """best = the highest pooled CV R² per target × scenario (ties: the family listed first)."""
    for _, block in results.groupby(["target", "scenario"], sort=False):
        scores = block["cv_r2_pooled"].to_numpy(dtype=float)
        if np.isnan(scores).all():
            continue
        results.loc[block.index[int(np.nanargmax(scores))], "best"] = True
