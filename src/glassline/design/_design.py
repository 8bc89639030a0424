"""The :class:`Design` object: runs (coded and in real units), the model it serves, its criteria."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from glassline.design._diagnostics import DesignDiagnostics, diagnose_design
from glassline.design._fds import MIN_FDS_POINTS
from glassline.design._model import ModelKind, PolynomialModel
from glassline.design._runsheet import run_sheet
from glassline.design._space import DesignSpace, FactorLike
from glassline.design._tables import coded_points
from glassline.exceptions import DesignError
from glassline.spec import Factor

__all__ = ["ROLES", "Design", "SpaceLike", "as_model", "as_space", "check_estimable", "diagnose"]

#: Why a run is in a design.
ROLES: tuple[str, ...] = ("fixed", "model", "lack-of-fit", "replicate", "augment", "classical")

#: What the design functions accept as a space: a DesignSpace, a Study, or factor-like objects.
SpaceLike = DesignSpace | Any


def as_space(space: SpaceLike) -> DesignSpace:
    """A :class:`DesignSpace` from a space, a :class:`glassline.spec.Study` or a list of factors."""
    if isinstance(space, DesignSpace):
        return space
    if hasattr(space, "factors") and hasattr(space, "responses"):
        return DesignSpace.from_study(space)
    if isinstance(space, Mapping):
        return DesignSpace.from_ranges(space)
    if isinstance(space, Iterable) and not isinstance(space, str | bytes):
        items = list(space)
        if all(isinstance(f, Factor | FactorLike | Mapping) for f in items):
            return DesignSpace(items)
    raise DesignError(
        f"expected a DesignSpace, a Study, a mapping of ranges or a list of factors; got {type(space).__name__}"
    )


def as_model(model: ModelKind | PolynomialModel | str, space: DesignSpace) -> PolynomialModel:
    """The model object for *model* ('linear', 'interactions', 'quadratic') on *space*."""
    if isinstance(model, PolynomialModel):
        if model.space != space:
            return PolynomialModel(space, model.kind)
        return model
    return PolynomialModel(space, model)  # type: ignore[arg-type]


def check_estimable(model: PolynomialModel, points: np.ndarray, *, source: str = "the design") -> None:
    """Raise a DesignError that says why *points* cannot estimate every term of *model*.

    Checks the number of runs, the distinct settings per continuous factor against the highest
    power of the model, and finally the rank of the model matrix (naming dependent terms).
    """
    n, p = len(points), model.p
    if n < p:
        raise DesignError(
            f"{source} has {n} runs but the {model.kind} model in {model.space.k} factors has {p} terms; "
            f"it needs at least {p} runs"
        )
    need = model.min_levels()
    for j, f in enumerate(model.space.factors):
        if f.kind != "continuous":
            continue
        distinct = np.unique(np.round(points[:, j], 9))
        if len(distinct) < need[f.name]:
            shown = ", ".join(f"{f.centre + f.half_range * v:g}" for v in distinct)
            raise DesignError(
                f"{source} sets factor {f.name!r} to only {len(distinct)} distinct value(s) ({shown}) but "
                f"the {model.kind} model needs at least {need[f.name]} for '{f.name}^{need[f.name] - 1}'"
            )
    X = model.matrix(points)
    scale = np.sqrt(np.maximum((X * X).sum(axis=0), 1e-300))
    _, singular, vt = np.linalg.svd(X / scale, full_matrices=False)
    tol = singular.max() * max(X.shape) * 1e-10
    if singular.min() <= tol:
        null = vt[singular <= tol]
        involved = [model.names[i] for i in np.flatnonzero(np.abs(null).max(axis=0) > 1e-6)]
        raise DesignError(
            f"{source} cannot estimate every term of the {model.kind} model: the terms {involved} are "
            "linearly dependent on its runs (the model matrix is rank deficient); add runs that vary them "
            "independently or use a smaller model"
        )


@dataclass(frozen=True)
class Design:
    """A design: N runs in a design space, the model it is built for, and how it was made.

    ``points`` holds coded settings (continuous factors in [-1, 1], categorical factors as level
    indices); :attr:`real` and :attr:`coded` give them as tables. ``roles`` says why each run is
    there (``fixed``, ``model``, ``lack-of-fit``, ``replicate``, ``augment``, ``classical``).
    """

    space: DesignSpace
    model: PolynomialModel
    points: np.ndarray
    roles: tuple[str, ...]
    criterion: Literal["i", "d"] | None = None
    method: str = ""
    seed: int | None = None
    seconds: float = 0.0
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        points = np.atleast_2d(np.asarray(self.points, dtype=float))
        if points.shape[1] != self.space.k:
            raise DesignError(f"points have {points.shape[1]} columns but the space has {self.space.k} factors")
        if len(self.roles) != len(points):
            raise DesignError(f"{len(self.roles)} roles for {len(points)} runs")
        unknown = sorted(set(self.roles) - set(ROLES))
        if unknown:
            raise DesignError(f"unknown run roles {unknown}; roles are {list(ROLES)}")
        object.__setattr__(self, "points", points)

    def __len__(self) -> int:
        return len(self.points)

    # ---------------------------------------------------------------- tables
    @property
    def real(self) -> pd.DataFrame:
        """The runs in real units (categorical factors as level names), in standard order."""
        return self.space.decode(self.points)

    @property
    def coded(self) -> pd.DataFrame:
        """The runs coded to [-1, 1] (categorical factors as level names), in standard order."""
        return self.space.coded_frame(self.points)

    @property
    def X(self) -> np.ndarray:
        """The model matrix (N × p)."""
        if "X" not in self._cache:
            self._cache["X"] = self.model.matrix(self.points)
        return self._cache["X"]

    @property
    def moments(self) -> np.ndarray:
        """The moment matrix W of the model over the space (exact for a box)."""
        if "W" not in self._cache:
            self._cache["W"] = self.model.moments()
        return self._cache["W"]

    # ---------------------------------------------------------------- criteria
    def information_inverse(self) -> np.ndarray:
        """(X'X)⁻¹; raises a DesignError naming dependent terms when X'X is singular."""
        if "A" not in self._cache:
            # a design read from a file names it: "the design read from runs.csv has 1 runs but …"
            source = f"the design {self.method}" if self.method.startswith("read from ") else "the design"
            check_estimable(self.model, self.points, source=source)
            self._cache["A"] = np.linalg.inv(self.X.T @ self.X)
        return self._cache["A"]

    @property
    def i_value(self) -> float:
        """I = trace((X'X)⁻¹ W): the prediction variance averaged over the space, in units of σ²."""
        return float(np.sum(self.information_inverse() * self.moments))

    @property
    def n_i(self) -> float:
        """N·I: the average prediction variance per run, comparable across design sizes."""
        return len(self) * self.i_value

    @property
    def d_value(self) -> float:
        """det(X'X)^(1/p) / N (1 for an orthogonal ±1 design of a first-order model)."""
        sign, logdet = np.linalg.slogdet(self.X.T @ self.X)
        if sign <= 0:
            return 0.0
        return float(np.exp(logdet / self.model.p) / len(self))

    def prediction_variance(self, points: np.ndarray) -> np.ndarray:
        """f(x)'(X'X)⁻¹f(x) at coded *points*, in units of σ²."""
        A = self.information_inverse()
        out = np.empty(len(points))
        for start in range(0, len(points), 50_000):
            F = self.model.matrix(points[start : start + 50_000])
            out[start : start + 50_000] = np.einsum("ij,jk,ik->i", F, A, F, optimize=True)
        return out

    # ---------------------------------------------------------------- derived designs
    def with_model(self, model: ModelKind | PolynomialModel | str) -> Design:
        """The same runs evaluated for another model."""
        return replace(self, model=as_model(model, self.space), _cache={})

    def diagnostics(self, **options: Any) -> DesignDiagnostics:
        """I, N·I, D- and G-efficiency, VIF, correlations, power, FDS; see :func:`diagnose`."""
        return diagnose(self, **options)

    def run_sheet(self, seed: int | None = None) -> pd.DataFrame:
        """The runs in real units, with configuration ids, in a randomized (seeded) order."""
        return run_sheet(self, seed=self.seed if seed is None else seed)

    @classmethod
    def from_table(
        cls, table: pd.DataFrame, space: SpaceLike, model: ModelKind | str = "quadratic", *, source: str = "<table>"
    ) -> Design:
        """A design from a table of runs in real units (e.g. a run sheet or a file from the line).

        Validates every cell (see :func:`glassline.design.read_design`); extra columns are ignored.
        """
        space = as_space(space)
        points = coded_points(table, space, source=source)
        return cls(
            space=space,
            model=as_model(model, space),
            points=points,
            roles=("fixed",) * len(points),
            method=f"read from {source}",
        )


def diagnose(
    design: Design | pd.DataFrame,
    space: SpaceLike | None = None,
    model: ModelKind | str | None = None,
    *,
    effect_size: float = 2.0,
    sigma: float = 1.0,
    alpha: float = 0.05,
    fds_points: int = MIN_FDS_POINTS,
    seed: int = 0,
    compare_levels: int | None = 4,
    source: str = "<table>",
) -> DesignDiagnostics:
    """Diagnostics of any design: a :class:`Design` or a real-unit table of runs (plus *space*).

    *effect_size* is in units of *sigma* (Design-Expert's signal-to-noise ratio). With
    *compare_levels* the design is compared with the full factorial at that many levels.
    """
    started = time.perf_counter()
    if not isinstance(design, Design):
        if space is None:
            raise DesignError("diagnosing a table needs the design space (space=...)")
        design = Design.from_table(design, as_space(space), model or "quadratic", source=source)
    elif model is not None:
        design = design.with_model(model)
    return diagnose_design(
        design,
        effect_size=effect_size,
        sigma=sigma,
        alpha=alpha,
        fds_points=fds_points,
        seed=seed,
        compare_levels=compare_levels,
        started=started,
    )
