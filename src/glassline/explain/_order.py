"""Confounding with run order: a factor that moved with the order the runs were made in.

A line drifts: a slurry thickens along the coil, a sensor ages, the room warms up during the day. When a
factor was set in run order (all low settings first, then all high ones), its apparent effect and the
drift are one and the same column of the data, and no model can tell them apart. The study names the
column that holds the order (``[data] order = "coil_position"``: run number, coil position, time); this
module measures, per target × scenario, how strongly each input moved with it.

The rule (computed on configurations, not rows: replicates of one configuration share one setting and
were made together, so each configuration counts once, at its mean order and mean setting):

- *ρ*: Spearman's rank correlation between a factor's setting and the order over the configurations
  (ranks, so a monotone drift of any shape counts and one far run does not dominate);
- *p*: its two-sided permutation p-value: the share of the :data:`ORDER_PERMUTATIONS` random run orders
  whose |ρ| is at least the observed one (exact, over every order, when there are few configurations).
  Under a randomised run order the observed order *is* one draw of those permutations, so the test is
  exact by design, whatever the factor's levels or ties;
- a factor is ``confounded_with_order`` when |ρ| ≥ :data:`ORDER_RHO_LIMIT` **and** p ≤ :data:`ORDER_ALPHA`.
  The p-value keeps a chance correlation among few configurations from being flagged (with a randomised
  order, a factor is flagged at most :data:`ORDER_ALPHA` of the time); the |ρ| limit keeps a weak but
  "significant" correlation among very many configurations from being flagged.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from glassline.models import Fit
from glassline.spec import Study

__all__ = [
    "ORDER_ALPHA",
    "ORDER_PERMUTATIONS",
    "ORDER_RHO_LIMIT",
    "OrderCheck",
    "order_checks",
    "order_table",
    "order_warnings",
]

#: Smallest |Spearman ρ| between a factor and the run order that is flagged: 0.5, Cohen's "large"
#: correlation (J. Cohen, *Statistical Power Analysis for the Behavioral Sciences*, 2nd ed. 1988, §3.2).
#: A linear drift along the order leaks into a factor's fitted slope in proportion to their correlation
#: (omitted-variable bias: the drift's standardised slope times ρ); from |ρ| = 0.5 on, at least half of
#: the drift is read as the factor's effect.
ORDER_RHO_LIMIT = 0.5
#: Largest two-sided permutation p-value of ρ that is flagged: 0.01. With a randomised run order a factor
#: is flagged with probability at most 0.01 (the test is exact under randomisation), so a study of five
#: factors shows a false warning in at most about 5 % of randomised designs.
ORDER_ALPHA = 0.01
#: Random run orders drawn for the p-value (all of them, exactly, when n! is at most this: n ≤ 7).
ORDER_PERMUTATIONS = 9999

#: The columns :func:`order_table` reads from the fit stage's predictions.
_ORDER_COLUMNS = ["target", "scenario", "family", "row_id", "group", "order"]


@dataclass(frozen=True)
class OrderCheck:
    """How one factor moved with the run order, over *n_configurations* configurations."""

    factor: str
    n_configurations: int
    rho: float
    p_value: float

    @property
    def confounded(self) -> bool:
        """|ρ| ≥ :data:`ORDER_RHO_LIMIT` and p ≤ :data:`ORDER_ALPHA` (see the module docstring)."""
        return math.isfinite(self.rho) and abs(self.rho) >= ORDER_RHO_LIMIT and self.p_value <= ORDER_ALPHA


def _spearman(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Pearson correlation of rank vectors along *axis* (the ranks are taken once, outside)."""
    xc = x - x.mean(axis=axis, keepdims=True)
    yc = y - y.mean(axis=axis, keepdims=True)
    denominator = np.sqrt((xc * xc).sum(axis=axis) * (yc * yc).sum(axis=axis))
    return np.asarray((xc * yc).sum(axis=axis) / denominator)


def order_checks(
    values: pd.DataFrame, order: pd.Series, groups: pd.Series | None = None, *, seed: int = 0
) -> list[OrderCheck]:
    """One :class:`OrderCheck` per column of *values* (the factors' settings, one row per run).

    *order*: the run order of each row (same index); *groups*: the configuration of each row (None: every
    row is its own configuration). Configurations count once, at their mean order and mean setting. A
    factor constant over the configurations, or fewer than 3 configurations, gives ρ = NaN (not flagged).
    *seed* seeds the random run orders of the p-value.
    """
    frame = values.astype(float).assign(__order=order.reindex(values.index).astype(float))
    if groups is not None:
        frame = frame.assign(__group=groups.reindex(values.index).astype(str)).groupby("__group").mean()
    frame = frame.dropna(subset=["__order"])
    n = len(frame)
    order_ranks = stats.rankdata(frame["__order"].to_numpy())
    checks = []
    for j, factor in enumerate(values.columns):
        setting = frame[factor].to_numpy(dtype=float)
        if n < 3 or np.ptp(setting) == 0 or np.ptp(order_ranks) == 0 or not np.isfinite(setting).all():
            checks.append(OrderCheck(str(factor), n, math.nan, math.nan))
            continue
        ranks = stats.rankdata(setting)
        test = stats.permutation_test(
            (ranks, order_ranks),
            _spearman,
            permutation_type="pairings",
            vectorized=True,
            n_resamples=ORDER_PERMUTATIONS,
            alternative="two-sided",
            rng=np.random.default_rng([seed, j]),
        )
        checks.append(OrderCheck(str(factor), n, float(test.statistic), float(test.pvalue)))
    return checks


def order_table(predictions: pd.DataFrame | Path | None) -> pd.DataFrame:
    """The run order and group of every row of every fit, from the fit stage's predictions (or its folder).

    Empty (same columns) when the fits were made without a ``[data] order`` column.
    """
    if isinstance(predictions, Path):
        path = predictions / "predictions.parquet"
        if not path.is_file():
            return pd.DataFrame(columns=_ORDER_COLUMNS)
        import pyarrow.parquet as pq

        if "order" not in pq.read_schema(path).names:
            return pd.DataFrame(columns=_ORDER_COLUMNS)
        predictions = pd.read_parquet(path, columns=_ORDER_COLUMNS)
    if predictions is None or not set(_ORDER_COLUMNS) <= set(predictions.columns):
        return pd.DataFrame(columns=_ORDER_COLUMNS)
    return predictions.loc[:, _ORDER_COLUMNS].drop_duplicates(["target", "scenario", "family", "row_id"])


def _label(study: Study, name: str, *, start: bool = False) -> str:
    """The column's label (its name with spaces when the study does not declare it), sentence-cased if *start*."""
    try:
        text = study.column(name).label or name.replace("_", " ")
    except ValueError:
        text = name.replace("_", " ")
    if start:
        return text[0].upper() + text[1:]
    return text[0].lower() + text[1:] if len(text) > 1 and text[0].isupper() and not text[1].isupper() else text


def order_warnings(study: Study, fits: Iterable[Fit], orders: pd.DataFrame, *, seed: int = 0) -> pd.DataFrame:
    """``confounded_with_order`` rows of ``warnings.csv`` (``target, scenario, factor, kind, message``).

    One check per target × scenario (its first fit in *fits*: every family of a scenario has the same rows),
    on all its rows (training and test), grouped by configuration; *orders* is :func:`order_table`.
    """
    columns = ["target", "scenario", "factor", "kind", "message"]
    if study.data.order is None or orders.empty:
        return pd.DataFrame(columns=columns)
    order_name = _label(study, study.data.order)
    seen: set[tuple[str, str]] = set()
    rows = []
    for fit in fits:
        if (fit.target, fit.scenario) in seen:
            continue
        seen.add((fit.target, fit.scenario))
        part = orders[
            (orders["target"] == fit.target) & (orders["scenario"] == fit.scenario) & (orders["family"] == fit.family)
        ].set_index("row_id")
        if part.empty:
            continue
        values = pd.concat([fit.X_train, fit.X_test]).loc[:, [c for c in fit.inputs if c != study.data.order]]
        values = values[~values.index.duplicated()]
        groups = part["group"].astype(str) if part["group"].astype(str).str.len().gt(0).all() else None
        for check in order_checks(values, part["order"], groups, seed=seed):
            if not check.confounded:
                continue
            label = _label(study, check.factor, start=True)
            rows.append(
                {
                    "target": fit.target,
                    "scenario": fit.scenario,
                    "factor": check.factor,
                    "kind": "confounded_with_order",
                    "message": (
                        f"{label} moved with {order_name} (Spearman ρ {check.rho:.2f} over {check.n_configurations} "
                        f"configurations, permutation p {check.p_value:.2g}; flagged at |ρ| ≥ {ORDER_RHO_LIMIT:g} "
                        f"and p ≤ {ORDER_ALPHA:g}): its effect cannot be told apart from a drift along {order_name}"
                    ),
                }
            )
    return pd.DataFrame(rows, columns=columns)
