"""The explanation stage: every fit of a results folder explained, checked and put into words.

:func:`explain` reads RESULTS_DIR (written by ``glassline fit``), explains every target × scenario ×
family, and writes to OUT_DIR (default ``RESULTS_DIR/explanations``). Collinearity is graded with the
study file's ``[models]`` limits (or the ones given): past a soft limit a scenario is explained with a
``collinear`` warning; past a hard limit (near-copies) its explanations are withheld and said in
``notes`` and ``warnings.csv`` (or explained and flagged with ``include_unexplainable=True``). It writes:

- ``importance.csv``: one row per fit × method × input (see :mod:`glassline.explain._importance`);
- ``shap_values.parquet``: target, scenario, family, row_id, feature, value, shap, base_value for every
  training row of every explained fit;
- ``agreement.csv``: Kendall τ between every two rankings of a target × scenario, beside the R²;
- ``expectations.csv``: the study's expert expectations, pass / fail per fit;
- ``influential.csv``: rows whose removal changes the fit most (candidates for data and label checks);
- ``warnings.csv``: target, scenario, factor, kind, message (see :mod:`glassline.explain._warnings`);
- ``collinearity.csv``: each scenario's max VIF and |r| with their inputs, graded ok / collinear / withheld;
- ``uncertainty.csv``, ``ranks.csv``, ``claims.csv``: from the grouped bootstrap refits of each target's lead
  scenario, importance and effect with 90 % CIs, direction and rank probabilities, shapes and optima, and the
  graded claims of the lead model (see :mod:`glassline.explain._claims`); the shape of a lead model's input is
  also judged from the data's curvature evidence (:mod:`glassline.explain._curvature`: an interior optimum of
  the reduced quadratic on the configuration means, found where a linear lead model cannot show one);
- ``narratives.json`` / ``narratives.md``: statements and role views per target, written from the claims;
- ``window.csv`` / ``window.json`` and ``figures/window/``: with *requirements*, the process window
  (see :mod:`glassline.explain._window`);
- ``physics_check.csv`` and ``figures/physics/``: the data's domain physics check, if it has one
  (see :mod:`glassline.explain._physics_check`);
- ``run.json``: the seed the stage ran with, the results folder it explained and its settings;
- ``figures/<target>/<scenario>/`` of each target's lead scenario (the ones the report shows):
  ``<family>_beeswarm.png``, ``<family>_mdi.png``, ``<family>_coefficients.png``; for the lead model
  ``dependence_<input>.png`` and ``contour_<x>_<y>.png``. With ``all_figures=True`` (``--all-figures``) also
  ``<family>_bar.png`` and the figures of every other explained scenario.

The study (labels, units, factor ranges, expectations) comes from *study*, else the copy ``study.toml``
RESULTS_DIR keeps, the file run.json records, a ``study.toml`` in the parent folder, or the shipped study
whose name run.json records (see :func:`glassline.models.resolve_study`).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shap

from glassline._cluster import map_tasks
from glassline._progress import ProgressCallback
from glassline.exceptions import DataError, SpecError, UnknownNameError, did_you_mean
from glassline.explain._agreement import agreement
from glassline.explain._claims import claim_warnings, claims_table, ranks_table, uncertainty_table
from glassline.explain._curvature import with_curvature
from glassline.explain._expectations import check_expectations, factor_bounds
from glassline.explain._explanations import Explanations, lead_fits
from glassline.explain._importance import (
    coefficient_importance,
    explanation_for,
    finish,
    input_range,
    mdi_importance,
    partial_dependence,
    pd_direction,
    permutation_table,
    shap_importance,
)
from glassline.explain._influence import INFLUENCE_COLUMNS, influential_points
from glassline.explain._narrative import narratives
from glassline.explain._order import order_table, order_warnings
from glassline.explain._physics_check import run_physics_checks
from glassline.explain._uncertainty import BootstrapDraws, bootstrap_draws, importance_intervals
from glassline.explain._warnings import collinearity_table, explanation_warnings, scenario_collinearity
from glassline.explain._window import Requirement, parse_requirement, process_window
from glassline.models import (
    DEFAULT_R_LIMIT,
    DEFAULT_VIF_LIMIT,
    Collinearity,
    CollinearityLimits,
    Comparison,
    Fit,
    FitKey,
    Fits,
    load_fits,
    resolve_study,
)
from glassline.spec import Study, load_study

__all__ = ["EXPLAIN_ROWS", "PERMUTATION_ROWS", "collinearity_limits", "explain", "explanation_sample"]


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
) -> tuple[pd.DataFrame, shap.Explanation, BootstrapDraws | None]:
    """importance rows of one fit (every method that applies), its SHAP explanation and bootstrap draws."""
    explanation = explanation_for(fit, seed=seed)
    tables = []
    s = shap_importance(explanation)
    ci = pd.DataFrame(columns=["method", "feature", "ci_low", "ci_high", "direction_agreement"])
    draws = None
    if n_boot > 0:
        labels = groups if groups is not None else pd.Series(dtype=str)
        draws = bootstrap_draws(fit, labels, n_boot=n_boot, seed=seed, bounds=bounds)
        ci = importance_intervals(draws)

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
    return pd.concat(tables, ignore_index=True), explanation, draws


#: Refits of the lead scenario's other families, as a share of the lead model's: a tenth (10 of the default
#: 100). Their intervals in uncertainty.csv and ranks.csv are rougher (``n_boot`` says how many); a random
#: forest refit costs about ten times a linear one, and all of them at the full count would triple the stage.
OTHER_FAMILY_SHARE = 0.1

#: Explanations of a fit with more training rows than this run on a seeded random sample of them: SHAP values
#: (the sample is also their background), partial dependence, bootstrap refits and expectations. Interventional
#: SHAP costs coalitions × rows × background predictions; on 80,000 training rows it would not finish.
#: The demo's fits (17–86 rows) are far below and are explained on every row.
EXPLAIN_ROWS = 200
#: Permutation importance of a fit with more test rows than this runs on a seeded random sample of them.
PERMUTATION_ROWS = 5_000


def _sample(frame: pd.DataFrame, series: pd.Series, limit: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    if len(frame) <= limit:
        return frame, series
    positions = np.sort(np.random.default_rng(seed).choice(len(frame), size=limit, replace=False))
    return frame.iloc[positions], series.iloc[positions]


def explanation_sample(fit: Fit, seed: int) -> Fit:
    """*fit* with at most :data:`EXPLAIN_ROWS` training and :data:`PERMUTATION_ROWS` test rows (seeded samples)."""
    X_train, y_train = _sample(fit.X_train, fit.y_train, EXPLAIN_ROWS, seed)
    X_test, y_test = _sample(fit.X_test, fit.y_test, PERMUTATION_ROWS, seed + 1)
    if X_train is fit.X_train and X_test is fit.X_test:
        return fit
    return dataclasses.replace(fit, X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test)


def refits_per_fit(keys: Iterable[FitKey], lead: dict[str, Fit], bootstrap: int) -> dict[FitKey, int]:
    """How many bootstrap refits each fit gets: *bootstrap* for each target's lead model, a tenth of it
    (:data:`OTHER_FAMILY_SHARE`, at least 1 when *bootstrap* > 0) for the other families of its scenario, and
    none for the other scenarios (their importance rows keep empty CIs)."""
    out: dict[FitKey, int] = {}
    others = max(1, round(bootstrap * OTHER_FAMILY_SHARE)) if bootstrap > 0 else 0
    for key in keys:
        fit = lead.get(key[0])
        if fit is None or key[1] != fit.scenario:
            out[key] = 0
        else:
            out[key] = bootstrap if key == fit.key else others
    return out


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


@dataclass(frozen=True)
class _Source:
    """What the stage explains: the fits, their results table, the rows' groups, the study and the seed."""

    fits: Fits
    folder: Path | None
    groups: pd.DataFrame
    #: the run order of every row of every fit (empty without a ``[data] order`` column)
    orders: pd.DataFrame
    study: Study
    note: str | None
    seed: int
    #: collinearity.csv of the fit stage (empty when there is none) and the hard limits it was graded with
    collinearity: pd.DataFrame
    fit_limits: CollinearityLimits


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
        settings: dict[str, object] = dict(results.settings)
        fits, groups, orders = results.fits, _groups(results.predictions), order_table(results.predictions)
        table = results.collinearity
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
        settings = json.loads(run_file.read_text(encoding="utf-8")) if run_file.is_file() else {}
        fits, groups = (results if isinstance(results, Fits) else load_fits(folder)), _groups(folder)
        orders = order_table(folder)
        path = folder / "collinearity.csv"
        table = pd.read_csv(path) if path.is_file() and path.stat().st_size > 1 else pd.DataFrame()
    recorded = settings.get("seed")
    fit_limits = _recorded_limits(settings)
    if seed is None:
        seed = recorded if isinstance(recorded, int) and not isinstance(recorded, bool) else resolved_study.seed
    resolved_study = resolved_study.with_seed(seed)
    return _Source(fits, folder, groups, orders, resolved_study, note, resolved_study.seed, table, fit_limits)


def _recorded_limits(settings: dict[str, object]) -> CollinearityLimits:
    """The hard limits the fit stage flagged ``explainable`` with (its run.json's; the defaults if absent)."""

    def number(name: str, default: float) -> float:
        value = settings.get(name)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default

    vif, r = number("vif_limit", DEFAULT_VIF_LIMIT), number("r_limit", DEFAULT_R_LIMIT)
    return CollinearityLimits(soft_vif=vif, hard_vif=vif, soft_r=r, hard_r=r)


#: The keyword of :func:`explain` (and option of ``glassline explain``) for each collinearity limit.
_LIMIT_NAMES = {
    "soft_vif": "vif_soft (--vif-soft)",
    "hard_vif": "vif_hard (--vif-hard)",
    "soft_r": "r_soft (--r-soft)",
    "hard_r": "r_hard (--r-hard)",
}


def collinearity_limits(
    study: Study,
    *,
    vif_soft: float | None = None,
    vif_hard: float | None = None,
    r_soft: float | None = None,
    r_hard: float | None = None,
) -> CollinearityLimits:
    """The study file's ``[models]`` collinearity limits, each overridden by the one given here.

    A bad combination (hard below soft, a VIF limit below 1, an |r| limit outside (0, 1]) is a one-line
    :class:`~glassline.exceptions.SpecError` naming the limit.
    """
    base = study.models.collinearity_limits
    limits = CollinearityLimits(
        soft_vif=base.soft_vif if vif_soft is None else vif_soft,
        hard_vif=base.hard_vif if vif_hard is None else vif_hard,
        soft_r=base.soft_r if r_soft is None else r_soft,
        hard_r=base.hard_r if r_hard is None else r_hard,
    )
    return limits.checked("explain: collinearity limits", _LIMIT_NAMES)


def _withheld(check: Collinearity | None, flag: bool, fit_limits: CollinearityLimits) -> tuple[bool, str]:
    """Whether a scenario's explanations are withheld, and why.

    Withheld when its inputs pass a hard limit, or when results.csv marks it not explainable although its
    own numbers pass the limits the fit stage used (a verdict from elsewhere, honoured as given).
    """
    if check is None:
        return (not flag), "marked not explainable in results.csv"
    if not check.explainable:
        constant = any(math.isnan(v) for v in check.vif.values())
        return True, check.reason if constant else f"inputs are near-copies ({check.reason})"
    if not flag and check.graded(fit_limits).explainable:
        return True, "marked not explainable in results.csv"
    return False, ""


def explain(
    results: str | Path | Comparison | Fits,
    out_dir: str | Path | None = None,
    *,
    study: Study | str | Path | None = None,
    targets: Iterable[str] | None = None,
    families: Iterable[str] | None = None,
    bootstrap: int | None = None,
    n_jobs: int = 1,
    include_unexplainable: bool = False,
    plots: bool = True,
    all_figures: bool = False,
    influence: bool = True,
    requirements: Iterable[str | Requirement] = (),
    level: float = 0.9,
    seed: int | None = None,
    progress: ProgressCallback | None = None,
    vif_soft: float | None = None,
    vif_hard: float | None = None,
    r_soft: float | None = None,
    r_hard: float | None = None,
) -> Explanations:
    """Explain every fit of *results* and write the tables, narratives and figures to *out_dir*.

    *results*: a :class:`~glassline.models.Comparison` in memory, or a results folder (RESULTS_DIR)
    written by ``glassline fit``. *out_dir* defaults to ``RESULTS_DIR/explanations``; a comparison that
    was never written and no *out_dir*: nothing is written.
    *study*: the study (or its file) when the results do not say (see :func:`glassline.models.resolve_study`).
    *targets* / *families* narrow what is explained (did-you-mean errors for unknown names).
    *bootstrap*: grouped bootstrap refits (configurations resampled) of each target's lead model (None: the
    study file's ``[models] bootstrap``, default :data:`~glassline.spec.DEFAULT_BOOTSTRAP`; 0: none); the
    other families of the lead scenario get a tenth of them, other scenarios none (see
    :func:`refits_per_fit`). They give ``uncertainty.csv``, ``ranks.csv``, ``claims.csv`` (see
    :mod:`glassline.explain._claims`) and CIs on SHAP, MDI and coefficient importance.
    *n_jobs* worker processes explain fits in parallel (-1: all cores).
    *vif_soft* / *r_soft*: beyond either soft limit a scenario is explained with a ``collinear`` warning;
    *vif_hard* / *r_hard*: beyond either hard limit (near-copies) its explanations are withheld (default:
    the study file's ``[models]`` limits, see :class:`~glassline.models.CollinearityLimits`).
    *include_unexplainable* also explains withheld scenarios (flagged ``explainable = False``).
    *plots* / *influence* switch off the figures / the influential-points refits. The figures are those the
    report shows (each target's lead scenario, every family); *all_figures* writes every explained fit's.
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
    n_boot = the_study.models.bootstrap if bootstrap is None else bootstrap
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 0:
        raise SpecError(f"bootstrap: expected a whole number of refits ≥ 0 (0: none), got {bootstrap!r}")
    n_boot = int(n_boot)
    limits = collinearity_limits(the_study, vif_soft=vif_soft, vif_hard=vif_hard, r_soft=r_soft, r_hard=r_hard)
    wanted = [parse_requirement(r, the_study) for r in requirements]
    fits = source.fits
    results_table = fits.results.copy()
    checks = scenario_collinearity(source.collinearity, results_table, limits)
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
        withheld, why = _withheld(checks.get((target, scenario)), bool(row["explainable"].iloc[0]), source.fit_limits)
        flags[key] = not withheld
        if withheld:
            verb = "explained anyway (flagged)" if include_unexplainable else "explanations withheld"
            note = f"{target} / {scenario}: not explainable, {verb}: {why} (see collinearity.csv and warnings.csv)"
            if note not in notes:
                notes.append(note)
            if not include_unexplainable:
                continue
        keys.append(key)
    # the collinearity check graded with this stage's limits: the results table and the fits carry its flag
    for (target, scenario, family), flag in flags.items():
        at = (
            (results_table["target"] == target)
            & (results_table["scenario"] == scenario)
            & (results_table["family"] == family)
        )
        results_table.loc[at, "explainable"] = flag
    sampled = {k: explanation_sample(dataclasses.replace(fits[k], explainable=flags[k]), seed) for k in keys}
    sizes = {
        " · ".join(k): {
            "training_rows": len(fits[k].X_train),
            "explained_rows": len(sampled[k].X_train),
            "test_rows": len(fits[k].X_test),
            "permutation_rows": len(sampled[k].X_test),
        }
        for k in keys
    }
    large = [k for k in keys if len(sampled[k].X_train) < len(fits[k].X_train)]
    if large:
        notes.append(
            f"{len(large)} fit(s) have more than {EXPLAIN_ROWS:,} training rows: SHAP values (on a background of the "
            f"same rows), partial dependence and the bootstrap refits use a seeded sample of {EXPLAIN_ROWS:,} of them, "
            f"permutation importance at most {PERMUTATION_ROWS:,} test rows (sizes per fit: run.json "
            "'explanation_rows'); influential points are not computed for them"
        )
    fits = Fits(results_table, sampled, folder=folder)
    groups = source.groups
    bounds = factor_bounds(the_study)
    tasks = []
    for key in keys:
        part = groups[(groups["target"] == key[0]) & (groups["scenario"] == key[1]) & (groups["family"] == key[2])]
        tasks.append((fits[key], part.set_index("row_id")["group"].astype(str) if len(part) else None))
    if n_jobs == 0 or n_jobs < -1:
        raise SpecError(f"n_jobs: expected a positive number of worker processes (or -1 for all), got {n_jobs}")
    lead = lead_fits(fits, chosen_targets, set(keys), [k for k, c in checks.items() if c.collinear])
    refits = refits_per_fit(keys, lead, n_boot)
    if progress:
        progress("", 0, len(tasks))
    # where the fits are explained: glassline._cluster (local processes, or the active Dask cluster)
    stream = map_tasks(
        _explain_fit, ((fit, g, refits[fit.key], seed, 20, bounds) for fit, g in tasks), n_jobs=n_jobs, prefer=None
    )
    tables: list[pd.DataFrame] = []
    explanations: dict[FitKey, shap.Explanation] = {}
    draws: dict[FitKey, BootstrapDraws] = {}
    for done, ((fit, _), (table, explanation, drawn)) in enumerate(zip(tasks, stream, strict=True), start=1):
        tables.append(table)
        explanations[fit.key] = explanation
        if drawn is not None:
            draws[fit.key] = drawn
        if progress:
            progress(" · ".join(fit.key), done, len(tasks))
    if not tables:
        where = folder if folder is not None else "the comparison"
        raise DataError(
            f"{where}: nothing to explain (every chosen scenario is withheld: its inputs pass the hard collinearity "
            f"limits VIF {limits.hard_vif:g} / |r| {limits.hard_r:g}, or results.csv marks it not explainable)"
        )
    importance = pd.concat(tables, ignore_index=True)
    agree = agreement(importance, results_table)
    best_keys = {
        (str(t), str(s), str(f))
        for t, s, f, b in results_table[["target", "scenario", "family", "best"]].itertuples(index=False)
        if b
    }
    expectations = check_expectations(the_study, [fits[k] for k in keys], best_keys)
    # influential points for the published candidates (best family per target × scenario): the
    # leave-one-configuration-out refits of every family would cost more than the rest of the stage
    candidates = [k for k in ([k for k in keys if k in best_keys] or keys) if k not in large]
    influential = (
        influential_points([fits[k] for k in candidates], {fit.key: g for fit, g in tasks}, n_jobs=n_jobs)
        if influence and candidates
        else pd.DataFrame(columns=list(INFLUENCE_COLUMNS))
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
    explained_checks = {
        k: c for k, c in checks.items() if k[0] in chosen_targets and any(key[:2] == k for key in flags)
    }
    confounded = order_warnings(the_study, [fits[k] for k in keys], source.orders, seed=seed)
    window = (
        process_window(fits, the_study, wanted, level=level, results_dir=folder, explained=keys) if wanted else None
    )
    warnings = explanation_warnings(
        explained_checks,
        lead,
        results_table,
        {fit.key: g for fit, g in tasks},
        targets=chosen_targets,
        confounded=confounded,
    )
    uncertainty = with_curvature(
        uncertainty_table(draws, the_study),
        {t: f for t, f in lead.items() if f.key in draws},
        {fit.key: g for fit, g in tasks},
        bounds,
        n_boot=n_boot,
        seed=seed,
    )
    ranks = ranks_table(draws)
    claims = claims_table(lead, uncertainty, ranks, results_table, warnings)
    extra = claim_warnings(
        the_study,
        lead,
        draws,
        uncertainty,
        window.recommended if window is not None else None,
        window.models.values() if window is not None else (),
    )
    if extra:
        warnings = pd.concat([warnings, pd.DataFrame(extra, columns=warnings.columns)], ignore_index=True)
    story = narratives(
        the_study,
        lead,
        explanations,
        importance,
        results_table,
        agree,
        expectations,
        physics_table,
        warnings,
        claims=claims,
        uncertainty=uncertainty,
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
        physics=physics_table,
        notes=notes,
        seed=seed,
        warnings=warnings,
        collinearity=collinearity_table(explained_checks),
        uncertainty=uncertainty,
        ranks=ranks,
        claims=claims,
        settings={
            "bootstrap": n_boot,
            "level": level,
            "requirements": [str(r) for r in wanted],
            "targets": chosen_targets,
            "families": chosen_families,
            "include_unexplainable": include_unexplainable,
            "collinearity_limits": dataclasses.asdict(limits),
            "explanation_rows": sizes,
        },
    )
    outcome.window = window
    if physics is not None:
        outcome.files = list(physics.figures)
    if out is not None:
        if progress:
            progress("writing tables and figures", len(tasks), len(tasks))
        outcome.write(out, plots=plots, n_jobs=n_jobs, all_figures=all_figures)
    return outcome
