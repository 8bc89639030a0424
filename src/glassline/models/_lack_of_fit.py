"""The pure-error lack-of-fit test: does a model's term set explain the configurations' means?

Where the design has replicates (several rows per configuration, the study's ``[data] group``), the
residual sum of squares of a model fitted by OLS splits into pure error, the scatter of replicates
about their configuration's mean, and lack of fit, the distance of those means from the model::

    SS_res = SS_PE + SS_LOF,   SS_PE = Σ_g Σ_i (y_gi − ȳ_g)²,   df_PE = n − G,   df_LOF = G − p
    F = (SS_LOF / df_LOF) / (SS_PE / df_PE)  ~  F(df_LOF, df_PE) when the model is adequate

with n rows, G configurations and p the rank of the model's design (intercept included). It is the
F-test of the model nested in the saturated cell-means model (statsmodels ``anova_lm`` of the two OLS
fits gives the same F and p; ``tests/models/test_lack_of_fit.py`` checks it). The test applies only
when the model's inputs are constant within each configuration (otherwise the model is not nested in
the cell means and the replicates' scatter is not pure error), with ``df_PE ≥ 1`` and ``df_LOF ≥ 1``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

__all__ = ["LACK_OF_FIT_LEVEL", "MIN_LACK_OF_FIT_DF", "LackOfFit", "adequate_choice", "lack_of_fit"]

#: A lack-of-fit p-value below this rejects the model (the ``lack_of_fit`` warning, the lead-model rule).
LACK_OF_FIT_LEVEL = 0.05

#: A test that does not reject counts as evidence of fit only with this many lack-of-fit degrees of freedom
#: (spare configurations beyond the model's terms): with fewer it has little power, and the model keeps
#: fewer spare configurations than the explanations' ``few_groups`` warning asks (terms + 5).
MIN_LACK_OF_FIT_DF = 5

#: Inputs count as constant within a configuration when their spread there is below this share of their range.
_CONSTANT_SHARE = 1e-9


@dataclass(frozen=True)
class LackOfFit:
    """F, p, df_LOF and df_PE of one test; all NaN when no test applies (``reason`` says why)."""

    f: float
    p: float
    df: float
    pure_error_df: float
    reason: str = ""

    @property
    def tested(self) -> bool:
        return math.isfinite(self.p)

    @property
    def rejects(self) -> bool:
        """True when the test applies and p < :data:`LACK_OF_FIT_LEVEL`."""
        return self.tested and self.p < LACK_OF_FIT_LEVEL

    @classmethod
    def none(cls, reason: str, pure_error_df: float = math.nan) -> LackOfFit:
        return cls(math.nan, math.nan, math.nan, pure_error_df, reason)


def _constant_within(inputs: npt.NDArray[np.float64], codes: npt.NDArray[np.intp]) -> bool:
    grouped = pd.DataFrame(inputs).groupby(codes)
    spread = (grouped.max() - grouped.min()).to_numpy(dtype=float).max(axis=0)
    scale = np.maximum(np.ptp(inputs, axis=0), np.abs(inputs).max(axis=0))
    return bool((spread <= _CONSTANT_SHARE * np.where(scale > 0, scale, 1.0)).all())


def lack_of_fit(terms: Any, y: Any, groups: Any, inputs: Any | None = None) -> LackOfFit:
    """The pure-error lack-of-fit test of the OLS model on *terms* (rows × terms, no intercept column).

    *groups* labels each row's configuration; *inputs* (default: *terms*) are the model's inputs,
    which must be constant within each configuration for the test to apply.
    """
    design = np.column_stack([np.ones(len(np.asarray(y))), np.asarray(terms, dtype=float)])
    target = np.asarray(y, dtype=float).ravel()
    if groups is None:
        return LackOfFit.none("no group column: replicates unknown")
    codes = pd.factorize(pd.Series(np.asarray(groups)).astype(str))[0]
    n, n_groups = len(target), int(codes.max()) + 1 if len(codes) else 0
    df_pe = n - n_groups
    if df_pe < 1:
        return LackOfFit.none("no replicates: every configuration has one row", float(df_pe))
    check = np.asarray(inputs if inputs is not None else terms, dtype=float)
    if not _constant_within(check.reshape(n, -1), codes):
        return LackOfFit.none("inputs vary within a configuration: replicates are not pure error", float(df_pe))
    rank = int(np.linalg.matrix_rank(design))
    df_lof = n_groups - rank
    if df_lof < 1:
        return LackOfFit.none(f"no lack-of-fit degrees of freedom ({n_groups} configurations, {rank} terms)", df_pe)
    coef = np.linalg.lstsq(design, target, rcond=None)[0]
    ss_res = float(np.sum((target - design @ coef) ** 2))
    means = pd.Series(target).groupby(codes).transform("mean").to_numpy(dtype=float)
    ss_pe = float(np.sum((target - means) ** 2))
    ss_lof = max(ss_res - ss_pe, 0.0)
    if ss_pe <= 0:
        return LackOfFit.none("replicates agree exactly: no pure error to test against", float(df_pe))
    f = (ss_lof / df_lof) / (ss_pe / df_pe)
    return LackOfFit(float(f), float(stats.f.sf(f, df_lof, df_pe)), float(df_lof), float(df_pe))


def adequate_choice(block: pd.DataFrame) -> Any:
    """The index of the row of *block* (results.csv rows of one target × scenario) to lead with.

    When the lack-of-fit test tells the families apart (at least one family's test does not reject
    with at least :data:`MIN_LACK_OF_FIT_DF` lack-of-fit degrees of freedom; one with fewer counts as
    untested):
    the highest pooled grouped-CV R² among the families whose test does not reject (``lof_p`` ≥
    :data:`LACK_OF_FIT_LEVEL`) or that have no test (NaN: not linear in their parameters, no
    replicates, no lack-of-fit degrees of freedom) and that predict new configurations better than
    their mean (pooled CV R² > 0). So a straight line that wins CV narrowly but misses a curvature the
    replicates show gives way to the model that fits.

    When every tested family rejects, or none is tested (an older results folder has no ``lof_p``),
    the highest pooled CV R² of all: a test that rejects every model says the configurations' means
    differ by more than their replicates scatter, which random differences between configurations
    (material lots, pairings) do as well as a missing term; it is then no ground to prefer a family
    that could not be tested. None when no row has a finite CV R².
    """
    scores = pd.to_numeric(block["cv_r2_pooled"], errors="coerce")
    lof_p = pd.to_numeric(block["lof_p"], errors="coerce") if "lof_p" in block else pd.Series(np.nan, block.index)
    scored = scores.notna()
    if not scored.any():
        return None
    rejects = lof_p < LACK_OF_FIT_LEVEL
    lof_df = pd.to_numeric(block["lof_df"], errors="coerce") if "lof_df" in block else pd.Series(np.nan, block.index)
    passes = (lof_p >= LACK_OF_FIT_LEVEL) & (lof_df >= MIN_LACK_OF_FIT_DF)
    adequate = scored & (scores > 0) & ~rejects
    pool = scores[adequate] if (passes & scored).any() and adequate.any() else scores[scored]
    return pool.idxmax()
