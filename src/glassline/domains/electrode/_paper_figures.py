"""The electrode paper's Figs. 2, 10 and 11 redrawn from a run, each with the findings it does or does not reproduce.

- Fig. 2: adhesion of the **uncalendered** electrodes over mass loading × second-dryer temperature, as a
  contour of a full quadratic surface fitted to the segments' mean adhesion (``specimen_uncalendered``),
  with the paper's three statements checked on that surface (section "Data Preprocessing and Analysis").
- Fig. 10: tortuosity against porosity per group of similar mass loading and temperature, with the fitted
  τ = a·ε^−α per group, the model's prediction, the Eq. 5 curve τ = 2.3·ε^−0.31 and the α fitted over
  all cells; Eq. 5 is tested against the replicate scatter (lack-of-fit F test, pure error by configuration).
- Fig. 11: the **models'** fraction of design space: the variance of each fitted model's prediction over
  the box (grouped bootstrap refits by configuration, uniform points), relative to the replicate
  variance and on the design's scale (one run per configuration), sorted; the paper reads off the share
  of the box above 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy import stats
from sklearn.base import clone

from glassline.data import read_table
from glassline.domains.electrode import constants
from glassline.domains.electrode.checks import bruggeman_groups
from glassline.domains.electrode.paper import Finding
from glassline.domains.electrode.physics import fit_bruggeman, modified_bruggeman
from glassline.exceptions import DataError
from glassline.models import load_fits
from glassline.spec import Study

__all__ = [
    "FDS_POINTS",
    "FDS_REFITS",
    "SIGNIFICANCE",
    "adhesion_contour",
    "model_fds",
    "tortuosity_porosity",
]

#: Level of the tests behind a finding (an effect or a departure counts when p < this).
SIGNIFICANCE = 0.05
#: Grouped bootstrap refits per model for Fig. 11 (the variance of a prediction over refits).
FDS_REFITS = 40
#: Uniform points of the box at which Fig. 11 evaluates the prediction variance.
FDS_POINTS = 1000

_ML, _T, _EPS = "mass_loading", "drying_temperature", "porosity"


def _table(dataset: Path, level: str) -> pd.DataFrame | None:
    for suffix in (".parquet", ".csv"):
        path = dataset / f"{level}{suffix}"
        if path.is_file():
            try:
                return read_table(path)
            except DataError:
                return None
    return None


def _axes(width: float = 6.0, height: float = 4.2) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.subplots()


def _save(figure: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    return path


# ---------------------------------------------------------------- Fig. 2


def _quadratic(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones_like(a), a, b, a**2, b**2, a * b])


@dataclass(frozen=True)
class _Range:
    """A continuous factor's label, unit and range (floats: the figures need both ends)."""

    display: str
    unit: str
    low: float
    high: float

    @classmethod
    def of(cls, study: Study, name: str) -> _Range:
        factor = study.factor(name)
        if factor.low is None or factor.high is None:
            raise DataError(f"study {study.name!r}: factor {name!r} needs a low and a high for the paper's figures")
        return cls(factor.display, factor.unit, float(factor.low), float(factor.high))


def adhesion_contour(study: Study, dataset: Path, out: Path) -> tuple[Path | None, list[Finding]]:
    """Fig. 2 and its three checks; no figure (and one finding saying why) when the data do not allow it."""
    item = "Fig. 2: adhesion of the uncalendered electrodes"
    table = _table(dataset, "specimen_uncalendered")
    target = "adhesion_strength"
    if table is None or not {_ML, _T, target} <= set(table.columns):
        return None, [
            Finding(
                item,
                "contour over mass loading × temperature",
                "no uncalendered adhesion table",
                False,
                "the run has no specimen_uncalendered table",
            )
        ]
    group = "segment" if "segment" in table else study.data.group
    means = table.groupby(group)[[_ML, _T, target]].mean().dropna() if group in table else table[[_ML, _T, target]]
    ml, temp = _Range.of(study, _ML), _Range.of(study, _T)
    if len(means) < 8:  # 6 terms + at least 2 residual degrees of freedom
        return None, [
            Finding(
                item,
                "contour over mass loading × temperature",
                f"{len(means)} groups",
                False,
                "fewer than 8 groups of uncalendered specimens: too few for a quadratic surface",
            )
        ]
    mid = np.array([(ml.low + ml.high) / 2, (temp.low + temp.high) / 2])
    half = np.array([(ml.high - ml.low) / 2, (temp.high - temp.low) / 2])
    a = (means[_ML].to_numpy(float) - mid[0]) / half[0]
    b = (means[_T].to_numpy(float) - mid[1]) / half[1]
    y = means[target].to_numpy(float)
    X = _quadratic(a, b)
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    dof = len(y) - X.shape[1]
    sigma2 = float(np.sum((y - X @ beta) ** 2)) / dof
    cov = sigma2 * np.linalg.pinv(X.T @ X)
    t_crit = float(stats.t.ppf(1 - SIGNIFICANCE / 2, dof))

    def surface(ml_value: np.ndarray, t_value: np.ndarray) -> np.ndarray:
        rows = _quadratic((np.asarray(ml_value) - mid[0]) / half[0], (np.asarray(t_value) - mid[1]) / half[1])
        return np.asarray(rows @ beta, dtype=float)

    def contrast(p: tuple[float, float], q: tuple[float, float]) -> tuple[float, float]:
        """Surface at p minus at q, and its standard error."""
        d = (
            _quadratic(np.array([(p[0] - mid[0]) / half[0]]), np.array([(p[1] - mid[1]) / half[1]]))
            - _quadratic(np.array([(q[0] - mid[0]) / half[0]]), np.array([(q[1] - mid[1]) / half[1]]))
        )[0]
        return float(d @ beta), float(np.sqrt(max(d @ cov @ d, 0.0)))

    figure, axis = _axes()
    span_ml = (min(ml.low, float(means[_ML].min())), max(ml.high, float(means[_ML].max())))
    span_t = (min(temp.low, float(means[_T].min())), max(temp.high, float(means[_T].max())))
    grid_ml, grid_t = np.meshgrid(np.linspace(*span_ml, 80), np.linspace(*span_t, 80))
    filled = axis.contourf(grid_ml, grid_t, surface(grid_ml.ravel(), grid_t.ravel()).reshape(grid_ml.shape), 14)
    figure.colorbar(filled, ax=axis, label=study.response(target).display if target in study.response_names else target)
    axis.scatter(means[_ML], means[_T], c="white", edgecolors="black", s=28, label=f"{group} means")
    axis.set_xlabel(ml.display)
    axis.set_ylabel(temp.display)
    axis.legend(fontsize=8, loc="upper right")
    path = _save(figure, out / "paper_fig2_adhesion_uncalendered.png")

    unit = temp.unit
    findings = []
    # 1. intermediate loadings: a local optimum of temperature between 55 and 60 °C
    ts = np.linspace(temp.low, temp.high, 301)
    along = surface(np.full(ts.size, mid[0]), ts)
    t_best = float(ts[int(np.argmax(along))])
    interior = temp.low < t_best < temp.high
    curvature, curvature_se = float(beta[4]), float(np.sqrt(cov[4, 4]))
    curved = curvature + t_crit * curvature_se < 0  # the 95 % interval of the curvature lies below 0
    located = interior and 55.0 <= t_best <= 60.0
    reasons = []
    if not interior:
        reasons.append(f"the surface has no interior optimum at {mid[0]:.1f} {ml.unit} (its maximum is at the edge)")
    elif not located:
        reasons.append(f"the fitted optimum lies at {t_best:.1f} {unit}, outside 55–60 {unit}")
    if not curved:
        reasons.append(f"the curvature's 95 % interval includes 0 ({len(y)} groups of uncalendered specimens)")
    findings.append(
        Finding(
            f"{item}: optimum of temperature at intermediate loading",
            f"a local optimum between 55 and 60 {unit}",
            f"highest at {t_best:.1f} {unit} for {mid[0]:.1f} {ml.unit}; curvature {curvature:+.1f} ± "
            f"{t_crit * curvature_se:.1f}",
            bool(located and curved),
            "; ".join(reasons),
        )
    )
    # 2. the highest loading at the highest temperature gives the poorest adhesion of the four corners
    corners = {
        (x, t): float(surface(np.array([x]), np.array([t]))[0])
        for x in (ml.low, ml.high)
        for t in (temp.low, temp.high)
    }
    worst = min(corners, key=lambda k: corners[k])
    poorest = worst == (ml.high, temp.high)
    corner_text = ", ".join(f"{x:g}/{t:g}: {v:.0f}" for (x, t), v in corners.items())
    findings.append(
        Finding(
            f"{item}: highest loading at highest temperature",
            "poor adhesion (the lowest of the box)",
            f"corners (loading/temperature: adhesion) {corner_text}",
            poorest,
            "" if poorest else f"the lowest corner is {worst[0]:g}/{worst[1]:g}",
        )
    )
    # 3. the lowest loading: low temperature gives high adhesion
    diff, se = contrast((ml.low, temp.low), (ml.low, temp.high))
    significant = diff - t_crit * se > 0
    findings.append(
        Finding(
            f"{item}: lowest loading",
            "a low temperature correlates with high adhesion",
            f"{temp.low:g} vs {temp.high:g} {unit} at {ml.low:g} {ml.unit}: {diff:+.0f} ± {t_crit * se:.0f}",
            bool(significant),
            ""
            if significant
            else "the difference's 95 % interval includes 0"
            if diff + t_crit * se > 0
            else "the surface gives the higher adhesion at the higher temperature",
        )
    )
    return path, findings


# ---------------------------------------------------------------- Fig. 10


def _lead_tortuosity(results_dir: Path) -> Any | None:
    """The polynomial tortuosity model on the product scenario (the paper's Fig. 10 draws it), else the best
    tortuosity model with porosity among its inputs."""
    path = results_dir / "results.csv"
    if not path.is_file():
        return None
    results = pd.read_csv(path)
    rows = results[(results["target"] == "tortuosity") & results["inputs"].astype(str).str.contains(_EPS)]
    if rows.empty:
        return None
    poly = rows[(rows["family"] == "poly2") & (rows["scenario"] == "product")]
    chosen = poly.iloc[0] if len(poly) else rows.sort_values("cv_r2_pooled", ascending=False).iloc[0]
    return load_fits(results_dir)[(str(chosen["target"]), str(chosen["scenario"]), str(chosen["family"]))]


def tortuosity_porosity(study: Study, dataset: Path, results_dir: Path, out: Path) -> tuple[Path | None, list[Finding]]:
    """Fig. 10 with the Eq. 5 curve and the fitted α, and the test of Eq. 5 against the replicate scatter."""
    item = "Fig. 10: tortuosity against porosity"
    level = study.response("tortuosity").level if "tortuosity" in study.response_names else None
    table = _table(dataset, level or "symmetric_cell")
    if table is None or not {_EPS, "tortuosity", _ML, _T} <= set(table.columns):
        return None, [Finding(item, "τ = 2.3·ε^−0.31 (Eq. 5)", "no tortuosity table", False, "not in this run")]
    table = table.dropna(subset=[_EPS, "tortuosity", _ML, _T])
    scale = 100.0 if study.factor(_EPS).unit == "%" else 1.0
    eps_all, tau_all = table[_EPS].to_numpy(float) / scale, table["tortuosity"].to_numpy(float)
    pooled = fit_bruggeman(eps_all, tau_all)
    a5, alpha5 = constants.MODIFIED_BRUGGEMAN_PREFACTOR.value, constants.MODIFIED_BRUGGEMAN_ALPHA.value
    fit = _lead_tortuosity(results_dir)
    figure, axis = _axes(6.4, 4.4)
    colours = ["#1b6ca8", "#c0392b", "#27ae60", "#8e44ad", "#d35400", "#16a085"]
    labels = bruggeman_groups(table, study)
    drawn = 0
    for (_, part), colour in zip(table.groupby(labels), colours * 4, strict=False):
        eps = part[_EPS].to_numpy(float) / scale
        if len(part) < 3 or np.unique(np.round(eps, 3)).size < 2:
            continue
        group_fit = fit_bruggeman(eps, part["tortuosity"].to_numpy(float))
        grid = np.linspace(eps.min(), eps.max(), 25)
        name = f"{part[_ML].mean():.1f} {study.factor(_ML).unit} / {part[_T].mean():.0f} {study.factor(_T).unit}"
        axis.scatter(eps * scale, part["tortuosity"], s=14, color=colour, label=f"{name}: α = {group_fit.alpha:.2f}")
        axis.plot(grid * scale, np.asarray(group_fit.predict(grid)), "--", color=colour, linewidth=1)
        if fit is not None:
            rows = pd.DataFrame({c: np.full(grid.size, float(fit.X_train[c].mean())) for c in fit.inputs})
            for column in (_ML, _T):
                if column in rows:
                    rows[column] = float(part[column].mean())
            rows[_EPS] = grid * scale
            axis.plot(grid * scale, fit.predict(rows), "-", color=colour, linewidth=1.6)
        drawn += 1
    grid = np.linspace(eps_all.min(), eps_all.max(), 50)
    axis.plot(
        grid * scale, np.asarray(modified_bruggeman(grid)), "k:", linewidth=2, label=f"Eq. 5: τ = {a5:g}·ε^−{alpha5:g}"
    )
    axis.set_xlabel(study.factor(_EPS).display)
    axis.set_ylabel(study.response("tortuosity").display if "tortuosity" in study.response_names else "tortuosity")
    axis.set_title(
        f"fitted over all {len(table)} cells: τ = {pooled.prefactor:.2f}·ε^−{pooled.alpha:.2f} (Eq. 5: α = {alpha5:g})",
        fontsize=9,
    )
    axis.legend(fontsize=7)
    path = _save(figure, out / "paper_fig10_tortuosity_porosity.png")

    group = study.data.group if study.data.group in table else None
    findings = []
    if group is not None:
        by = table.assign(_eps=eps_all, _tau=tau_all).groupby(group)
        n_i, eps_i, tau_i = (
            by.size().to_numpy(float),
            by["_eps"].mean().to_numpy(float),
            by["_tau"].mean().to_numpy(float),
        )
        ss_pe = float(sum(((g["_tau"] - g["_tau"].mean()) ** 2).sum() for _, g in by))
        df_pe = int(len(table) - len(n_i))
        ss_lof = float(np.sum(n_i * (tau_i - np.asarray(modified_bruggeman(eps_i))) ** 2))
        if df_pe > 0 and ss_pe > 0:
            f_value = (ss_lof / len(n_i)) / (ss_pe / df_pe)
            p_value = float(stats.f.sf(f_value, len(n_i), df_pe))
            gap = float(
                np.mean(np.abs(tau_i - np.asarray(modified_bruggeman(eps_i))) / np.asarray(modified_bruggeman(eps_i)))
            )
            holds = p_value >= SIGNIFICANCE
            findings.append(
                Finding(
                    f"{item}: Eq. 5 describes the measured tortuosity",
                    f"τ = {a5:g}·ε^−{alpha5:g} (Eq. 5, Mayilvahanan et al.)",
                    f"fitted α {pooled.alpha:.2f} (a {pooled.prefactor:.2f}); Eq. 5 against the replicate scatter: "
                    f"F = {f_value:.2f}, p = {p_value:.3g}; mean gap {gap:.1%}",
                    holds,
                    ""
                    if holds
                    else f"the configurations' mean τ depart from Eq. 5 by more than their replicates scatter "
                    f"(lack-of-fit p < {SIGNIFICANCE:g}, {len(n_i)} configurations)",
                )
            )
    if drawn == 0:
        findings.append(
            Finding(
                item,
                "groups of similar loading and temperature",
                "no group with 2 porosities",
                False,
                "no group of ≥ 3 cells with two porosities",
            )
        )
    return path, findings


# ---------------------------------------------------------------- Fig. 11


def _groups_of(fit: Any, results_dir: Path) -> np.ndarray:
    """The configuration of each training row (predictions.parquet), else each distinct row its own."""
    path = results_dir / "predictions.parquet"
    if path.is_file():
        table = pd.read_parquet(path, columns=["row_id", "group", "target", "scenario", "family", "split"])
        mine = (
            table[
                (table["target"] == fit.target)
                & (table["scenario"] == fit.scenario)
                & (table["family"] == fit.family)
                & (table["split"] == "train")
            ]
            .drop_duplicates("row_id")
            .set_index("row_id")["group"]
        )
        if fit.X_train.index.isin(mine.index).all():
            return mine.reindex(fit.X_train.index).astype(str).to_numpy()
    return fit.X_train.round(9).astype(str).agg("|".join, axis=1).to_numpy()


def _box(study: Study, fit: Any, rng: np.random.Generator, n: int) -> pd.DataFrame:
    columns = {}
    for name in fit.inputs:
        column = study.column(name)
        low, high = getattr(column, "low", None), getattr(column, "high", None)
        if low is None or high is None:
            low, high = float(fit.X_train[name].min()), float(fit.X_train[name].max())
        columns[name] = rng.uniform(float(low), float(high), n)
    return pd.DataFrame(columns)


def model_fds(
    study: Study, results_dir: Path, out: Path, *, refits: int = FDS_REFITS, points: int = FDS_POINTS
) -> tuple[Path | None, list[Finding]]:
    """Fig. 11 for the tortuosity models of the product scenario (polynomial and SVM as in the paper, else the two
    best fitted), and the share of the box whose relative prediction variance exceeds 1."""
    item = "Fig. 11: the models' fraction of design space (tortuosity)"
    path = results_dir / "results.csv"
    results = pd.read_csv(path) if path.is_file() else pd.DataFrame()
    rows = (
        results[(results["target"] == "tortuosity") & (results["scenario"] == "product")] if len(results) else results
    )
    if rows.empty:
        return None, [
            Finding(item, "≈10 % of the box with variance > 1", "no tortuosity model", False, "not in this run")
        ]
    paper = rows[rows["family"].isin(["poly2", "svr"])]
    chosen = paper if len(paper) == 2 else rows.sort_values("cv_r2_pooled", ascending=False).head(2)
    fits = load_fits(results_dir)
    rng = np.random.default_rng(study.seed)
    figure, axis = _axes(5.8, 4.0)
    shares: dict[str, float] = {}
    for family in chosen["family"]:
        fit = fits[("tortuosity", "product", str(family))]
        groups = _groups_of(fit, results_dir)
        y = fit.y_train.to_numpy(float)
        labels = pd.Series(groups)
        within = pd.Series(y).groupby(labels).transform("mean").to_numpy()
        df_pe = len(y) - labels.nunique()
        if df_pe <= 0:
            continue
        sigma2 = float(np.sum((y - within) ** 2)) / df_pe
        box = _box(study, fit, rng, points)
        unique = np.unique(groups)
        draws = np.empty((refits, points))
        for r in range(refits):
            pick = rng.choice(unique, size=unique.size, replace=True)
            index = np.concatenate([np.flatnonzero(groups == g) for g in pick])
            model = clone(fit.pipeline).fit(fit.X_train.iloc[index], fit.y_train.iloc[index])
            draws[r] = model.predict(box.loc[:, list(fit.inputs)])
        # on the design's scale: one run per configuration (Var(ŷ) of a model fitted on r replicates per
        # configuration is about 1/r of a one-run-per-configuration fit's); for least squares this is the
        # design's own FDS, x'(X'X)⁻¹x
        per_configuration = len(y) / unique.size
        relative = np.sort(draws.var(axis=0, ddof=1) * per_configuration / sigma2)
        shares[str(family)] = float(np.mean(relative > 1.0))
        axis.plot(np.linspace(0, 1, points), relative, label=f"{family}: {shares[str(family)]:.0%} of the box above 1")
    if not shares:
        return None, [
            Finding(
                item,
                "≈10 % of the box with variance > 1",
                "no replicates",
                False,
                "the training rows hold no replicated configuration: no replicate variance",
            )
        ]
    axis.axhline(1.0, color="#888", linestyle=":")
    axis.set_xlabel("fraction of the design space")
    axis.set_ylabel("prediction variance / replicate variance (per run)")
    axis.set_yscale("log")
    axis.legend(fontsize=8)
    out_path = _save(figure, out / "paper_fig11_model_fds.png")
    findings = [
        Finding(
            f"{item}: {family}",
            "≈10 % of the design space with a variance above 1",
            f"{share:.0%} of the box above 1 ({refits} grouped bootstrap refits, {points} points)",
            abs(share - 0.10) <= 0.10,
            "" if abs(share - 0.10) <= 0.10 else f"{share:.0%} is more than 10 points from the paper's ≈10 %",
        )
        for family, share in shares.items()
    ]
    if {"poly2", "svr"} <= set(shares):
        larger = shares["poly2"] >= shares["svr"]
        findings.append(
            Finding(
                f"{item}: polynomial against SVM",
                "the polynomial deviates more than the SVM",
                f"polynomial {shares['poly2']:.0%}, SVM {shares['svr']:.0%} above 1",
                larger,
                "" if larger else "the SVM's refits vary more than the polynomial's on these data",
            )
        )
    return out_path, findings
