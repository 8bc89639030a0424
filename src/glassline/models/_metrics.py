"""Metrics of Table 5 (R², RMSE, MSE_train/MSE_test) and the multicollinearity check of a scenario.

The paper (Haghi et al. 2023) reports R² and RMSE on training and test rows and the ratio
MSE_training / MSE_test: near 1 is healthy, far below 1 means the model fits its training rows much
better than new ones (overfitting). A scenario's inputs must be nearly independent for its
explanations to separate the inputs' effects; the paper *describes* its inputs as weakly correlated
(all |r| below 0.3, its Fig. 4) and drops only the explanations of its third scenario, whose inputs are
near-copies of each other. The check is graded the same way: beyond a **soft** limit (|r| or VIF) the
explanations are computed with a ``collinear`` warning; beyond a **hard** limit (near-copies) they are
withheld. Both the largest |r| and the largest variance inflation factor are checked, with the limits as
parameters (:class:`CollinearityLimits`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from glassline._collinearity import (
    HARD_R_LIMIT,
    HARD_VIF_LIMIT,
    SOFT_R_LIMIT,
    SOFT_VIF_LIMIT,
    CollinearityLimits,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEFAULT_R_LIMIT",
    "DEFAULT_VIF_LIMIT",
    "HARD_R_LIMIT",
    "HARD_VIF_LIMIT",
    "SOFT_R_LIMIT",
    "SOFT_VIF_LIMIT",
    "Collinearity",
    "CollinearityLimits",
    "beyond",
    "collinearity",
    "mse",
    "mse_ratio",
    "r2",
    "rmse",
]

#: The limits :attr:`Collinearity.explainable` checks by default: the hard ones (sources beside
#: :data:`HARD_VIF_LIMIT` and :data:`HARD_R_LIMIT`; the study file's ``[models]`` table can change them).
DEFAULT_R_LIMIT = HARD_R_LIMIT
DEFAULT_VIF_LIMIT = HARD_VIF_LIMIT


def beyond(value: float, limit: float) -> str:
    """*value* with the fewest significant figures (at least 2) that do not round it onto *limit*.

    ``beyond(0.3027, 0.3) == "0.303"``, so "|r| 0.303 > 0.3" never reads as "0.30 > 0.3".
    """
    for digits in range(2, 10):
        text = f"{value:.{digits}g}"
        if float(text) != limit:
            return text
    return repr(value)


def _pair(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    a = np.asarray(y_true, dtype=float).ravel()
    b = np.asarray(y_pred, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"y_true has {a.size} values, y_pred {b.size}")
    return a, b


def mse(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    """Mean squared error; NaN for no rows."""
    a, b = _pair(y_true, y_pred)
    return float(np.mean((a - b) ** 2)) if a.size else math.nan


def rmse(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    """Root mean squared error, in the target's unit; NaN for no rows."""
    return math.sqrt(mse(y_true, y_pred)) if np.size(y_true) else math.nan


def r2(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    """Coefficient of determination 1 − SSE/SST around the mean of *y_true*.

    NaN (silently) when *y_true* has fewer than two rows or no spread, where R² is undefined.
    """
    a, b = _pair(y_true, y_pred)
    if a.size < 2:
        return math.nan
    sst = float(np.sum((a - a.mean()) ** 2))
    if sst <= 0.0:
        return math.nan
    return 1.0 - float(np.sum((a - b) ** 2)) / sst


def mse_ratio(
    y_train: npt.ArrayLike, pred_train: npt.ArrayLike, y_test: npt.ArrayLike, pred_test: npt.ArrayLike
) -> float:
    """MSE_training / MSE_test, as Table 5 of the paper reports it (< 1: better on training rows).

    ``inf`` when the test MSE is exactly 0 and the training MSE is not; NaN when both are 0.
    """
    train, test = mse(y_train, pred_train), mse(y_test, pred_test)
    if test == 0.0:
        return math.nan if train == 0.0 else math.inf
    return train / test


@dataclass(frozen=True)
class Collinearity:
    """How independent a scenario's inputs are in the data, and whether its explanations can be trusted.

    *vif_limit* / *r_limit* are the hard limits (:attr:`explainable`); *soft_vif_limit* / *soft_r_limit*
    the soft ones (:attr:`collinear`, a warning).
    """

    inputs: tuple[str, ...]
    max_vif: float
    max_abs_r: float
    worst_pair: tuple[str, str] | None
    vif: dict[str, float] = field(default_factory=dict)
    vif_limit: float = DEFAULT_VIF_LIMIT
    r_limit: float = DEFAULT_R_LIMIT
    soft_vif_limit: float = SOFT_VIF_LIMIT
    soft_r_limit: float = SOFT_R_LIMIT

    @property
    def worst_input(self) -> str | None:
        """The input with the largest VIF (None without inputs or when every VIF is NaN)."""
        finite = {k: v for k, v in self.vif.items() if not math.isnan(v)}
        return max(finite, key=lambda k: finite[k]) if finite else None

    @property
    def collinear(self) -> bool:
        """Beyond a soft limit (max VIF or max |r|) but explainable: explain, with a warning."""
        if not self.explainable:
            return False
        return self.max_vif > self.soft_vif_limit or self.max_abs_r > self.soft_r_limit

    @property
    def warning(self) -> str:
        """What passes the soft limits, e.g. ``"|r| 0.35 (a ~ b) > 0.3"`` ("" when nothing does)."""
        if not self.collinear:
            return ""
        parts = []
        if self.max_vif > self.soft_vif_limit:
            parts.append(
                f"max VIF {beyond(self.max_vif, self.soft_vif_limit)} ({self.worst_input}) > {self.soft_vif_limit:g}"
            )
        if self.max_abs_r > self.soft_r_limit and self.worst_pair is not None:
            a, b = self.worst_pair
            parts.append(f"|r| {beyond(self.max_abs_r, self.soft_r_limit)} ({a} ~ {b}) > {self.soft_r_limit:g}")
        return "; ".join(parts)

    def graded(self, limits: CollinearityLimits) -> Collinearity:
        """The same check read against other *limits* (soft and hard)."""
        return replace(
            self,
            vif_limit=limits.hard_vif,
            r_limit=limits.hard_r,
            soft_vif_limit=limits.soft_vif,
            soft_r_limit=limits.soft_r,
        )

    @property
    def explainable(self) -> bool:
        """Within both hard limits (a constant input makes a scenario not explainable)."""
        return (
            math.isfinite(self.max_vif)
            and self.max_vif <= self.vif_limit
            and not math.isnan(self.max_abs_r)
            and self.max_abs_r <= self.r_limit
        )

    @property
    def reason(self) -> str:
        """Why the scenario is not explainable ("" when it is)."""
        if self.explainable:
            return ""
        constant = [k for k, v in self.vif.items() if math.isnan(v)]
        if constant:
            return f"input {constant[0]!r} is constant"
        parts = []
        if not self.max_vif <= self.vif_limit:
            worst = max(self.vif, key=lambda k: self.vif[k])
            parts.append(f"max VIF {beyond(self.max_vif, self.vif_limit)} ({worst}) > {self.vif_limit:g}")
        if self.max_abs_r > self.r_limit and self.worst_pair is not None:
            a, b = self.worst_pair
            parts.append(f"|r| {beyond(self.max_abs_r, self.r_limit)} ({a} ~ {b}) > {self.r_limit:g}")
        return "; ".join(parts)


def _vif(z: npt.NDArray[np.float64], j: int) -> float:
    """1 / (1 − R²) of input *j* regressed on the others (inputs already standardized)."""
    others = np.delete(z, j, axis=1)
    design = np.column_stack([np.ones(z.shape[0]), others])
    coef, *_ = np.linalg.lstsq(design, z[:, j], rcond=None)
    sse = float(np.sum((z[:, j] - design @ coef) ** 2))
    sst = float(np.sum((z[:, j] - z[:, j].mean()) ** 2))
    r_squared = 1.0 - sse / sst
    return math.inf if r_squared >= 1.0 - 1e-12 else 1.0 / (1.0 - r_squared)


def collinearity(
    frame: pd.DataFrame,
    inputs: Sequence[str] | None = None,
    *,
    vif_limit: float = DEFAULT_VIF_LIMIT,
    r_limit: float = DEFAULT_R_LIMIT,
    soft_vif_limit: float = SOFT_VIF_LIMIT,
    soft_r_limit: float = SOFT_R_LIMIT,
) -> Collinearity:
    """Largest variance inflation factor and largest |r| among *inputs* (default: every column).

    *vif_limit* / *r_limit*: the hard limits (beyond them: not explainable); *soft_vif_limit* /
    *soft_r_limit*: the soft ones (beyond them: :attr:`Collinearity.collinear`, a warning).
    A constant input gets VIF NaN and makes the result not explainable; perfectly dependent inputs
    get VIF ``inf``.
    """
    soft = (soft_vif_limit, soft_r_limit)
    names = tuple(inputs) if inputs is not None else tuple(str(c) for c in frame.columns)
    x = frame.loc[:, list(names)].to_numpy(dtype=float)
    spread = x.std(axis=0)
    constant = spread == 0
    vif: dict[str, float] = {}
    if len(names) == 1:
        vif[names[0]] = math.nan if constant[0] else 1.0
        return Collinearity(names, 1.0 if not constant[0] else math.nan, 0.0, None, vif, vif_limit, r_limit, *soft)
    z = np.zeros_like(x)
    z[:, ~constant] = (x[:, ~constant] - x[:, ~constant].mean(axis=0)) / spread[~constant]
    worst_pair: tuple[str, str] | None = None
    max_abs_r = 0.0
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            if constant[i] or constant[j]:
                continue
            r = abs(float(np.mean(z[:, i] * z[:, j])))
            if r > max_abs_r or worst_pair is None:
                max_abs_r, worst_pair = r, (names[i], names[j])
    varying = np.flatnonzero(~constant)
    for j, name in enumerate(names):
        if constant[j]:
            vif[name] = math.nan
        else:
            vif[name] = _vif(z[:, varying], int(np.flatnonzero(varying == j)[0])) if varying.size > 1 else 1.0
    max_vif = math.nan if constant.any() else max(vif.values())
    if constant.any():
        max_abs_r = math.nan if worst_pair is None else max_abs_r
    return Collinearity(names, max_vif, max_abs_r, worst_pair, vif, vif_limit, r_limit, *soft)
