"""Diagnostics engineers read off a design: I, N·I, D and G efficiency, VIF, correlations, power, FDS.

Definitions (coded factors, model matrix X with N runs and p terms, σ the noise SD):

- I = trace((X'X)⁻¹ W), W the moment matrix over the space: the average prediction variance in σ²;
  N·I makes designs of different size comparable (cost-weighted variance).
- D-efficiency = 100 · det(X'X)^(1/p) / N  (percent; 100 for an orthogonal ±1 first-order design).
- G: the largest prediction variance f'(X'X)⁻¹f over a grid, the polytope's vertices and the FDS
  points; G-efficiency = 100 · p / (N · max variance).
- VIF of a term = the diagonal element of the inverse correlation matrix of the model columns
  (intercept excluded) = 1 / (1 − R²) of that column regressed on the others.
- Power of a term: the probability that the t-test (α) on its coefficient detects a change of
  ``effect_size`` σ between the term's low and high coded settings (coefficient = effect / 2),
  with N − p residual degrees of freedom (noncentral F with λ = (β/σ)² / c_jj, c = (X'X)⁻¹).
- Pure-error df = N − (distinct runs); lack-of-fit df = (distinct runs) − p.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from glassline.design._fds import MIN_FDS_POINTS, FdsCurve, fds_curve
from glassline.exceptions import DesignError

if TYPE_CHECKING:
    from glassline.design._design import Design

__all__ = [
    "Comparison",
    "DesignDiagnostics",
    "compare_with_factorial",
    "diagnose_design",
    "factor_correlation",
    "g_max_variance",
    "replication_df",
    "term_power",
    "variance_inflation",
]

#: The paper's limit on the correlation of factor columns.
MAX_ABS_CORRELATION = 0.3


@dataclass(frozen=True)
class Comparison:
    """The design against a reference design (by default the L-level full factorial)."""

    runs: int
    n_i: float
    reference: str
    reference_runs: int
    reference_i: float
    reference_n_i: float

    @property
    def line(self) -> str:
        """E.g. ``17 runs instead of 64 (4-level full factorial): N·I 5.48 vs 5.98``."""
        return (
            f"{self.runs} runs instead of {self.reference_runs} ({self.reference}): "
            f"N·I {self.n_i:.2f} vs {self.reference_n_i:.2f}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "reference_runs": self.reference_runs,
            "reference_i": self.reference_i,
            "reference_n_i": self.reference_n_i,
            "line": self.line,
        }


@dataclass(frozen=True)
class DesignDiagnostics:
    """Everything :func:`diagnose` computes; :meth:`to_dict` is the ``--json`` payload."""

    runs: int
    terms: tuple[str, ...]
    model: str
    criterion: str | None
    method: str
    i_criterion: float
    n_i: float
    d_efficiency: float
    g_max_variance: float
    g_efficiency: float
    vif: dict[str, float]
    correlation: pd.DataFrame
    power: dict[str, float | None]
    effect_size: float
    alpha: float
    fds: FdsCurve
    distinct_runs: int
    lack_of_fit_df: int
    pure_error_df: int
    residual_df: int
    moments: str
    seconds: float
    diagnostics_seconds: float
    comparison: Comparison | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def max_vif(self) -> float:
        return max(self.vif.values(), default=1.0)

    @property
    def max_abs_correlation(self) -> float:
        """Largest |r| between two different factor columns (0 with a single factor)."""
        values = self.correlation.to_numpy()
        if values.shape[0] < 2:
            return 0.0
        off = np.abs(values[~np.eye(len(values), dtype=bool)])
        return float(off.max())

    @property
    def fds_median(self) -> float:
        return self.fds.median

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the keys of issue 3 first, then the details."""
        out: dict[str, Any] = {
            "runs": self.runs,
            "terms": len(self.terms),
            "criterion": self.criterion,
            "i_criterion": self.i_criterion,
            "n_i": self.n_i,
            "d_efficiency": self.d_efficiency,
            "g_max_variance": self.g_max_variance,
            "max_vif": self.max_vif,
            "max_abs_correlation": self.max_abs_correlation,
            "fds_median": self.fds_median,
            "lack_of_fit_df": self.lack_of_fit_df,
            "pure_error_df": self.pure_error_df,
            "seconds": self.seconds,
            "term_names": list(self.terms),
            "model": self.model,
            "method": self.method,
            "moments": self.moments,
            "g_efficiency": self.g_efficiency,
            "vif": self.vif,
            "correlation": {c: {r: float(v) for r, v in self.correlation[c].items()} for c in self.correlation},
            "correlation_ok": self.max_abs_correlation < MAX_ABS_CORRELATION,
            "power": self.power,
            "power_effect_size_sigma": self.effect_size,
            "power_alpha": self.alpha,
            "distinct_runs": self.distinct_runs,
            "residual_df": self.residual_df,
            "fds": self.fds.to_dict(),
            "diagnostics_seconds": self.diagnostics_seconds,
            "comparison": self.comparison.to_dict() if self.comparison else None,
        }
        out.update(self.extra)
        return _json_safe(out)

    def summary(self) -> list[str]:
        """Short lines for a terminal or a report."""
        lines = [
            f"{self.runs} runs, {len(self.terms)} terms ({self.model} model); {self.method}",
            f"I = {self.i_criterion:.5f} (N·I = {self.n_i:.3f}); D-efficiency {self.d_efficiency:.1f} %; "
            f"G: max variance {self.g_max_variance:.3f} (G-efficiency {self.g_efficiency:.1f} %)",
            f"max VIF {self.max_vif:.2f}; max |r| between factors {self.max_abs_correlation:.3f} "
            f"({'below' if self.max_abs_correlation < MAX_ABS_CORRELATION else 'NOT below'} "
            f"the paper's {MAX_ABS_CORRELATION})",
            f"FDS: median variance {self.fds.median:.3f}, 90 % of the space below {self.fds.quantile(0.9):.3f}",
            f"degrees of freedom: lack of fit {self.lack_of_fit_df}, pure error {self.pure_error_df}, "
            f"residual {self.residual_df}",
        ]
        powered = [v for v in self.power.values() if v is not None]
        if powered:
            lines.append(
                f"power at {self.effect_size:g} σ, α = {self.alpha:g}: "
                f"{min(powered):.2f} (weakest term) to {max(powered):.2f}"
            )
        if self.comparison:
            lines.append(self.comparison.line)
        return lines


def diagnose_design(
    design: Design,
    *,
    effect_size: float = 2.0,
    sigma: float = 1.0,
    alpha: float = 0.05,
    fds_points: int = MIN_FDS_POINTS,
    seed: int = 0,
    compare_levels: int | None = 4,
    started: float | None = None,
) -> DesignDiagnostics:
    """The diagnostics of a :class:`~glassline.design.Design` (see :func:`glassline.design.diagnose`)."""
    started = time.perf_counter() if started is None else started
    for name, value, ok, expected in (
        ("effect_size", effect_size, effect_size > 0, "a finite number > 0 (in σ)"),
        ("sigma", sigma, sigma > 0, "a finite number > 0"),
        ("alpha", alpha, 0 < alpha < 1, "a probability in (0, 1)"),
    ):
        if not (ok and math.isfinite(value)):
            raise DesignError(f"{name}: expected {expected}, got {value!r}")
    A = design.information_inverse()  # raises a clear error when a term cannot be estimated
    X = design.X
    n, p = X.shape
    i_value = design.i_value
    sign, logdet = np.linalg.slogdet(X.T @ X)
    d_eff = 100.0 * math.exp(logdet / p) / n if sign > 0 else 0.0
    fds = fds_curve(design, n_points=fds_points, seed=seed)
    g_max = max(g_max_variance(design), fds.max)
    distinct, pure = replication_df(design.points)
    comparison = compare_with_factorial(design, compare_levels) if compare_levels else None
    return DesignDiagnostics(
        runs=n,
        terms=tuple(design.model.names),
        model=design.model.kind,
        criterion=design.criterion,
        method=design.method,
        i_criterion=i_value,
        n_i=n * i_value,
        d_efficiency=d_eff,
        g_max_variance=g_max,
        g_efficiency=100.0 * p / (n * g_max),
        vif=variance_inflation(X, design.model.names),
        correlation=factor_correlation(design),
        power=term_power(A, n, design.model.names, effect_size=effect_size, sigma=sigma, alpha=alpha),
        effect_size=effect_size,
        alpha=alpha,
        fds=fds,
        distinct_runs=distinct,
        lack_of_fit_df=distinct - p,
        pure_error_df=pure,
        residual_df=n - p,
        moments="exact" if design.space.is_box else "quasi-Monte-Carlo",
        seconds=design.seconds,
        diagnostics_seconds=time.perf_counter() - started,
        comparison=comparison,
    )


def variance_inflation(X: np.ndarray, names: list[str]) -> dict[str, float]:
    """VIF of every non-intercept column: the diagonal of the inverse correlation matrix."""
    columns = [i for i, name in enumerate(names) if name != "intercept"]
    if not columns:
        return {}
    if len(columns) == 1:
        return {names[columns[0]]: 1.0}
    R = np.corrcoef(X[:, columns], rowvar=False)
    inverse = np.linalg.inv(R)
    return {names[c]: float(v) for c, v in zip(columns, np.diag(inverse), strict=True)}


def factor_correlation(design: Design) -> pd.DataFrame:
    """Pearson correlation of the factor columns (coded main effects; effect-coded categoricals)."""
    model = design.model
    main = [i for i, t in enumerate(model.terms) if t.order == 1 and max(t.powers, default=0) <= 1]
    names = [model.names[i] for i in main]
    X = design.X[:, main]
    with np.errstate(divide="ignore", invalid="ignore"):
        R = np.corrcoef(X, rowvar=False) if len(main) > 1 else np.ones((1, 1))
    R = np.nan_to_num(np.atleast_2d(R), nan=0.0)
    return pd.DataFrame(R, index=names, columns=names)


def term_power(
    A: np.ndarray, n: int, names: list[str], *, effect_size: float = 2.0, sigma: float = 1.0, alpha: float = 0.05
) -> dict[str, float | None]:
    """Power of the t-test of each non-intercept coefficient (None without residual df)."""
    from scipy import stats

    p = len(names)
    df = n - p
    out: dict[str, float | None] = {}
    if df < 1:
        return {name: None for name in names if name != "intercept"}
    critical = stats.f.ppf(1.0 - alpha, 1, df)
    beta = effect_size * sigma / 2.0
    for i, name in enumerate(names):
        if name == "intercept":
            continue
        noncentrality = beta**2 / (sigma**2 * A[i, i])
        out[name] = float(stats.ncf.sf(critical, 1, df, noncentrality))
    return out


def g_max_variance(design: Design, *, max_points: int = 200_000) -> float:
    """The largest prediction variance on a grid of the space (plus its vertices)."""
    space = design.space
    kc = len(space.continuous)
    n_cat = int(np.prod([len(space.factors[j].levels or ()) for j in space.categorical] or [1]))
    levels = 3
    for candidate in (21, 11, 9, 7, 5, 3):
        if candidate**kc * n_cat <= max_points:
            levels = candidate
            break
    grid = space.level_grid(levels)
    vertices = space.vertices()
    if len(vertices) and space.categorical:
        vertices = np.vstack([_with_levels(vertices, space, combo) for combo in _level_combos(space)])
    points = np.vstack([grid, vertices]) if len(vertices) else grid
    if len(points) == 0:
        return float("nan")
    return float(design.prediction_variance(points).max())


def _level_combos(space: Any) -> list[tuple[int, ...]]:
    import itertools

    return list(itertools.product(*[range(len(space.factors[j].levels or ())) for j in space.categorical]))


def _with_levels(points: np.ndarray, space: Any, combo: tuple[int, ...]) -> np.ndarray:
    out = points.copy()
    for j, level in zip(space.categorical, combo, strict=True):
        out[:, j] = level
    return out


def replication_df(points: np.ndarray) -> tuple[int, int]:
    """(number of distinct runs, pure-error degrees of freedom = runs − distinct runs)."""
    distinct = len(np.unique(np.round(points, 9), axis=0))
    return distinct, len(points) - distinct


def compare_with_factorial(design: Design, levels: int = 4) -> Comparison:
    """The design against the *levels*-level full factorial in the same space, same model."""
    points = design.space.factorial_points(levels)
    reference = replace(design, points=points, roles=("classical",) * len(points), _cache={})
    i_ref = reference.i_value
    return Comparison(
        runs=len(design),
        n_i=design.n_i,
        reference=f"{levels}-level full factorial",
        reference_runs=len(reference),
        reference_i=i_ref,
        reference_n_i=len(reference) * i_ref,
    )


def _json_safe(value: Any) -> Any:
    """Replace NaN/inf by None and numpy scalars by Python numbers, recursively."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
