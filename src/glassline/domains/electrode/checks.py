"""The electrode domain's physics check of the explanation stage: tortuosity against modified Bruggeman.

The paper's Fig. 10: per group of configurations sharing mass loading and drying temperature (in
the symmetric-cell data), τ = a·ε^−α is fitted to the measured tortuosity
(:func:`~glassline.domains.electrode.physics.fit_bruggeman`) and compared with the predicted τ(ε)
of the best tortuosity model whose inputs include porosity, over the group's porosity range, the
other inputs at the group's mean settings (at their training means when the group does not fix
them). Reported per group: the fitted a and α, their R², and the largest and mean relative
deviation |τ_model − τ_Bruggeman| / τ_Bruggeman.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from glassline.data import read_table
from glassline.domains import PhysicsContext, PhysicsResult
from glassline.domains.electrode.physics import fit_bruggeman
from glassline.exceptions import DataError
from glassline.spec import Study

__all__ = ["GROUP_TOLERANCE", "bruggeman_groups", "physics_checks"]

#: Configurations whose mass loading and drying temperature differ by less than this fraction of the
#: factor's design range belong to one group.
GROUP_TOLERANCE = 0.1

_TARGET, _POROSITY, _GROUPED = "tortuosity", "porosity", ("mass_loading", "drying_temperature")


def _table(context: PhysicsContext) -> pd.DataFrame | None:
    level = context.study.response(_TARGET).level if _TARGET in context.study.response_names else None
    for suffix in (".parquet", ".csv"):
        path = context.dataset / f"{level or 'symmetric_cell'}{suffix}"
        if path.exists():
            return read_table(path)
    return None


def bruggeman_groups(table: pd.DataFrame, study: Study) -> pd.Series:
    """A group label per row: its mass loading and drying temperature snapped to the design grid (the paper's
    Fig. 10 groups configurations of similar mass loading and drying temperature)."""
    keys = []
    for name in _GROUPED:
        factor = study.factor(name)
        step = GROUP_TOLERANCE * (float(factor.high or 1.0) - float(factor.low or 0.0))
        keys.append((np.round(table[name].astype(float) / step) * step).round(6).astype(str))
    return keys[0] + " / " + keys[1]


def physics_checks(context: PhysicsContext) -> PhysicsResult:
    """physics_check.csv rows (one per group) and one figure per group with enough points."""
    columns = [
        "target",
        "scenario",
        "family",
        "check",
        "group",
        *_GROUPED,
        "n",
        "n_configurations",
        "prefactor",
        "alpha",
        "r2",
        "max_rel_deviation",
        "mean_rel_deviation",
    ]
    fit = next((f for f in context.best.get(_TARGET, []) if _POROSITY in f.inputs), None)
    table = _table(context)
    if fit is None or table is None or _POROSITY not in fit.inputs or _TARGET not in table:
        return PhysicsResult(pd.DataFrame(columns=columns))
    table = table.dropna(subset=[_TARGET, _POROSITY, *_GROUPED])
    percent = context.study.factor(_POROSITY).unit == "%"
    labels = bruggeman_groups(table, context.study)
    rows, figures = [], []
    for _, part in table.groupby(labels):
        eps = part[_POROSITY].to_numpy(float) / (100.0 if percent else 1.0)
        if len(part) < 3 or np.unique(np.round(eps, 3)).size < 2:
            continue
        try:
            bruggeman = fit_bruggeman(eps, part[_TARGET].to_numpy(float))
        except DataError:
            continue
        grid = np.linspace(eps.min(), eps.max(), 25)
        rows_in = pd.DataFrame({c: np.full(grid.size, float(fit.X_train[c].mean())) for c in fit.inputs})
        for name in _GROUPED:
            if name in rows_in:
                rows_in[name] = float(part[name].mean())
        rows_in[_POROSITY] = grid * (100.0 if percent else 1.0)
        model = fit.predict(rows_in)
        physics = np.asarray(bruggeman.predict(grid), dtype=float)
        deviation = np.abs(model - physics) / physics
        record = {
            "target": _TARGET,
            "scenario": fit.scenario,
            "family": fit.family,
            "check": "modified Bruggeman τ = a·ε^−α",
            "group": f"{part[_GROUPED[0]].mean():.1f} / {part[_GROUPED[1]].mean():.0f}",
            **{name: float(part[name].mean()) for name in _GROUPED},
            "n": len(part),
            "n_configurations": int(part["configuration"].nunique()) if "configuration" in part else len(part),
            "prefactor": bruggeman.prefactor,
            "alpha": bruggeman.alpha,
            "r2": bruggeman.r2,
            "max_rel_deviation": float(deviation.max()),
            "mean_rel_deviation": float(deviation.mean()),
        }
        rows.append(record)
        if context.figures is not None:
            figures.append(_figure(context, part, grid, model, physics, record, percent))
    return PhysicsResult(pd.DataFrame(rows, columns=columns), figures)


def _figure(
    context: PhysicsContext,
    part: pd.DataFrame,
    grid: np.ndarray,
    model: np.ndarray,
    physics: np.ndarray,
    record: dict[str, object],
    percent: bool,
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scale = 100.0 if percent else 1.0
    _, ax = plt.subplots(figsize=(5.5, 4))
    ax.scatter(part[_POROSITY], part[_TARGET], c="black", s=20, label="measured")
    ax.plot(grid * scale, physics, "r-", label=f"τ = {record['prefactor']:.2f}·ε^−{record['alpha']:.2f}")
    ax.plot(grid * scale, model, "b--", label=f"model ({record['family']})")
    ax.set_xlabel(context.study.factor(_POROSITY).display)
    ax.set_ylabel(context.study.response(_TARGET).display)
    ax.set_title(
        f"Mass loading / drying temperature ≈ {record['mass_loading']:.1f} / {record['drying_temperature']:.0f}"
    )
    ax.legend(fontsize=8)
    folder = context.figures or Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"bruggeman_{record['mass_loading']:.1f}_{record['drying_temperature']:.0f}.png"
    plt.savefig(path, dpi=110, bbox_inches="tight")
    plt.close("all")
    return path
