"""The design space: factors with their ranges or levels, linear constraints, and the coding to [-1, 1].

Points are stored *coded*: a float array with one column per factor, continuous factors mapped
linearly from ``[low, high]`` to ``[-1, 1]``, categorical factors holding the level index
(0, 1, …). Linear constraints ``lower ≤ Σ c·x ≤ upper`` (real units) become ``G·z ≤ h`` in coded
units, so feasibility of many points is one matrix product.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from pydantic import ValidationError

from glassline.exceptions import DesignError, did_you_mean
from glassline.spec import Factor

__all__ = ["MAX_DESIGN_RUNS", "MAX_FACTORIAL_RUNS", "DesignSpace", "FactorLike", "as_factor"]

#: The most runs a design may have (optimal, Latin hypercube, augmented): a designed experiment is far smaller.
MAX_DESIGN_RUNS = 10_000
#: The most runs a full factorial may have (before constraints drop any): refused above, before allocating.
MAX_FACTORIAL_RUNS = 100_000

#: Tolerance (coded units) within which a point counts as satisfying a constraint or a bound.
FEASIBILITY_TOL = 1e-9


@runtime_checkable
class FactorLike(Protocol):
    """Anything with a factor's attributes, e.g. :class:`glassline.spec.Factor`."""

    name: str
    kind: str
    low: float | None
    high: float | None
    levels: list[str] | None


@runtime_checkable
class ConstraintLike(Protocol):
    """Anything with a linear constraint's attributes, e.g. :class:`glassline.spec.LinearConstraint`."""

    coefficients: dict[str, float]
    lower: float | None
    upper: float | None


def as_factor(factor: Factor | FactorLike | Mapping[str, Any]) -> Factor:
    """A :class:`glassline.spec.Factor` from a Factor, a factor-like object or a mapping of its fields.

    The one factor type of glassline: a design space holds study factors (continuous with ``low < high``
    and optional ``values``, the only settings the line can run, e.g. two rollers ``values=[25, 40]``; or
    categorical with ``levels``). Invalid fields raise :class:`DesignError` naming the factor.
    """
    if isinstance(factor, Factor):
        return factor
    if isinstance(factor, Mapping):
        fields = dict(factor)
    else:
        fields = {key: getattr(factor, key) for key in _FACTOR_FIELDS if getattr(factor, key, None) is not None}
    for key in ("levels", "values"):
        if fields.get(key) is not None:
            fields[key] = list(fields[key])
    name = fields.get("name", "")
    try:
        return Factor.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(
            (".".join(str(p) for p in e["loc"]) + ": " if e["loc"] else "") + e["msg"].removeprefix("Value error, ")
            for e in exc.errors()
        )
        raise DesignError(f"factor {name!r}: {problems}") from None


_FACTOR_FIELDS = ("name", "label", "unit", "kind", "low", "high", "levels", "values", "description")


@dataclass(frozen=True)
class DesignSpace:
    """Factors plus linear constraints: the region a design may use and a model must predict over.

    Build one from a study (:meth:`from_study`), from ranges (:meth:`from_ranges`), as the coded
    cube (:meth:`cube`), or directly from :class:`glassline.spec.Factor` (or factor-like) objects or mappings.
    """

    factors: tuple[Factor, ...]
    constraints: tuple[Any, ...] = ()
    G: np.ndarray = field(init=False, repr=False, compare=False)
    h: np.ndarray = field(init=False, repr=False, compare=False)

    def __init__(
        self,
        factors: Iterable[Factor | FactorLike | Mapping[str, Any]],
        constraints: Iterable[ConstraintLike] = (),
    ) -> None:
        converted = tuple(as_factor(f) for f in factors)
        if not converted:
            raise DesignError("a design space needs at least one factor")
        names = [f.name for f in converted]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise DesignError(f"factor names must be unique; repeated: {duplicates}")
        object.__setattr__(self, "factors", converted)
        object.__setattr__(self, "constraints", tuple(constraints))
        G, h = self._coded_constraints()
        object.__setattr__(self, "G", G)
        object.__setattr__(self, "h", h)

    # ---------------------------------------------------------------- constructors
    @classmethod
    def from_study(cls, study: Any) -> DesignSpace:
        """The space of a :class:`glassline.spec.Study`: its factors and linear constraints."""
        return cls(study.factors, getattr(study, "constraints", ()))

    @classmethod
    def from_ranges(
        cls, ranges: Mapping[str, tuple[float, float] | Sequence[str]], constraints: Iterable[ConstraintLike] = ()
    ) -> DesignSpace:
        """``{"x": (low, high), "kind": ["a", "b"]}`` → a space (tuples of 2 numbers are ranges)."""
        factors = []
        for name, spec in ranges.items():
            items: list[Any] = list(spec)
            if len(items) == 2 and all(isinstance(v, int | float) and not isinstance(v, bool) for v in items):
                factors.append(as_factor({"name": name, "low": float(items[0]), "high": float(items[1])}))
            else:
                factors.append(as_factor({"name": name, "levels": [str(v) for v in items]}))
        return cls(factors, constraints)

    @classmethod
    def cube(cls, k: int, names: Sequence[str] | None = None) -> DesignSpace:
        """``k`` continuous factors on [-1, 1] (named x1, x2, … unless *names*)."""
        if k < 1:
            raise DesignError(f"a cube needs at least one factor, got k={k}")
        names = list(names) if names is not None else [f"x{i + 1}" for i in range(k)]
        return cls([as_factor({"name": n, "low": -1.0, "high": 1.0}) for n in names])

    # ---------------------------------------------------------------- views
    @property
    def names(self) -> list[str]:
        return [f.name for f in self.factors]

    @property
    def k(self) -> int:
        return len(self.factors)

    @property
    def continuous(self) -> list[int]:
        """Column indices of the continuous factors."""
        return [i for i, f in enumerate(self.factors) if f.kind == "continuous"]

    @property
    def categorical(self) -> list[int]:
        """Column indices of the categorical factors."""
        return [i for i, f in enumerate(self.factors) if f.kind == "categorical"]

    @property
    def is_box(self) -> bool:
        """True when no linear constraint cuts the box (moments then have a closed form)."""
        return self.G.shape[0] == 0

    def factor(self, name: str) -> Factor:
        for f in self.factors:
            if f.name == name:
                return f
        raise DesignError(f"no factor named {name!r}; factors are {self.names}." + did_you_mean(name, self.names))

    def factorial_points(self, levels: int) -> np.ndarray:
        """Coded points of the full factorial: *levels* equally spaced settings per continuous factor, every
        level of a categorical one, the infeasible combinations (linear constraints) dropped."""
        if levels < 2:
            raise DesignError(f"a full factorial needs at least 2 levels per factor, got {levels}")
        sizes = [len(f.levels or ()) if f.kind == "categorical" else levels for f in self.factors]
        total = math.prod(sizes)
        if total > MAX_FACTORIAL_RUNS:
            raise DesignError(
                f"a {levels}-level full factorial of these {self.k} factors has {total:,} runs "
                f"({' × '.join(str(n) for n in sizes)}); the limit is {MAX_FACTORIAL_RUNS:,} runs: use fewer levels"
            )
        axes = [
            np.arange(len(f.levels or ()), dtype=float) if f.kind == "categorical" else np.linspace(-1.0, 1.0, levels)
            for f in self.factors
        ]
        points = np.array(list(itertools.product(*axes)), dtype=float)
        return points[self.feasible(points)]

    # ---------------------------------------------------------------- constraints
    def _coded_constraints(self) -> tuple[np.ndarray, np.ndarray]:
        rows: list[np.ndarray] = []
        rhs: list[float] = []
        index = {f.name: i for i, f in enumerate(self.factors)}
        for j, c in enumerate(self.constraints):
            coefficients = dict(c.coefficients)
            row = np.zeros(self.k)
            offset = 0.0
            for name, value in coefficients.items():
                if name not in index:
                    raise DesignError(
                        f"constraint {j}: unknown factor {name!r}; factors are {self.names}."
                        + did_you_mean(name, self.names)
                    )
                f = self.factors[index[name]]
                if f.kind != "continuous":
                    raise DesignError(
                        f"constraint {j}: factor {name!r} is categorical; constraints take continuous factors"
                    )
                row[index[name]] = float(value) * f.half_range
                offset += float(value) * f.centre
            if c.upper is not None:
                rows.append(row)
                rhs.append(float(c.upper) - offset)
            if c.lower is not None:
                rows.append(-row)
                rhs.append(offset - float(c.lower))
        if not rows:
            return np.zeros((0, self.k)), np.zeros(0)
        G, h = np.array(rows), np.array(rhs)
        scale = np.maximum(np.abs(G).max(axis=1), 1e-300)
        return G / scale[:, None], h / scale

    def feasible(self, points: np.ndarray) -> np.ndarray:
        """Boolean mask: which coded points satisfy every constraint (and lie in the box)."""
        points = np.atleast_2d(points)
        ok = np.ones(len(points), dtype=bool)
        cont = self.continuous
        if cont:
            ok &= np.all(np.abs(points[:, cont]) <= 1 + FEASIBILITY_TOL, axis=1)
        if not self.is_box:
            ok &= np.all(points @ self.G.T <= self.h + FEASIBILITY_TOL, axis=1)
        return ok

    def coordinate_interval(self, point: np.ndarray, j: int) -> tuple[float, float]:
        """The feasible coded interval for coordinate *j* when the other coordinates of *point* stay."""
        low, high = -1.0, 1.0
        if not self.is_box:
            g = self.G[:, j]
            rest = self.h - self.G @ point + g * point[j]
            pos, neg = g > 1e-12, g < -1e-12
            if pos.any():
                high = min(high, float(np.min(rest[pos] / g[pos])))
            if neg.any():
                low = max(low, float(np.max(rest[neg] / g[neg])))
        return low, high

    def describe_violation(self, real_point: Mapping[str, float]) -> str | None:
        """The first constraint a real-unit point violates, in words, or None."""
        for j, c in enumerate(self.constraints):
            total = sum(float(v) * float(real_point[n]) for n, v in dict(c.coefficients).items())
            terms = " + ".join(f"{v:g}·{n}" for n, v in dict(c.coefficients).items())
            label = f" ({c.label})" if getattr(c, "label", "") else ""
            scale = 1e-9 * max(1.0, abs(total))
            if c.upper is not None and total > float(c.upper) + scale:
                return f"constraint {j}{label}: {terms} = {total:g} > {float(c.upper):g}"
            if c.lower is not None and total < float(c.lower) - scale:
                return f"constraint {j}{label}: {terms} = {total:g} < {float(c.lower):g}"
        return None

    # ---------------------------------------------------------------- coding
    def decode(self, points: np.ndarray) -> pd.DataFrame:
        """Coded points → a table in real units (categorical columns hold the level names)."""
        points = np.atleast_2d(np.asarray(points, dtype=float))
        columns: dict[str, Any] = {}
        for i, f in enumerate(self.factors):
            if f.kind == "continuous":
                columns[f.name] = f.centre + f.half_range * points[:, i]
            else:
                levels = np.asarray(f.levels, dtype=object)
                codes = np.rint(points[:, i]).astype(int)
                columns[f.name] = pd.Categorical(levels[codes], categories=list(f.levels or ()))
        return pd.DataFrame(columns)

    def coded_frame(self, points: np.ndarray) -> pd.DataFrame:
        """Coded points as a table: continuous columns in [-1, 1], categorical columns as level names."""
        points = np.atleast_2d(np.asarray(points, dtype=float))
        frame = self.decode(points)
        for i in self.continuous:
            frame[self.factors[i].name] = points[:, i]
        return frame

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        """A real-unit table (already validated) → coded points."""
        out = np.zeros((len(frame), self.k))
        for i, f in enumerate(self.factors):
            if f.kind == "continuous":
                out[:, i] = (frame[f.name].to_numpy(dtype=float) - f.centre) / f.half_range
            else:
                lookup = {level: n for n, level in enumerate(f.levels or ())}
                out[:, i] = [lookup[str(v)] for v in frame[f.name]]
        return out

    # ---------------------------------------------------------------- points in the region
    def level_grid(self, levels: int = 3) -> np.ndarray:
        """Every combination of *levels* equally spaced coded settings (fixed ``values`` where given)
        and every categorical level: the candidate grid, feasible points only."""
        axes: list[np.ndarray] = []
        for f in self.factors:
            if f.kind == "categorical":
                axes.append(np.arange(len(f.levels or ()), dtype=float))
            else:
                fixed = f.coded_values()
                axes.append(fixed if fixed is not None else np.linspace(-1.0, 1.0, levels))
        grid = np.array(list(itertools.product(*axes)), dtype=float)
        return grid[self.feasible(grid)]

    def sample(self, n: int, *, seed: int | None = 0, method: Literal["sobol", "random"] = "sobol") -> np.ndarray:
        """*n* coded points uniformly distributed over the region (rejection for constraints).

        Categorical levels are drawn with equal probability; a continuous factor with fixed ``values``
        is still sampled over its whole range (the region a model predicts over).
        """
        if n < 1:
            raise DesignError(f"need at least one sample point, got n={n}")
        from scipy.stats import qmc

        rng = np.random.default_rng(seed)
        chunks: list[np.ndarray] = []
        have = 0
        draws = 0
        batch = 1 << max(10, math.ceil(math.log2(n)))
        sobol = qmc.Sobol(d=self.k, scramble=True, seed=rng) if method == "sobol" else None
        while have < n:
            u = sobol.random(batch) if sobol is not None else rng.random((batch, self.k))
            pts = self._from_unit(u)
            pts = pts[self.feasible(pts)]
            chunks.append(pts)
            have += len(pts)
            draws += batch
            if draws >= 64 * n and have < n // 100 + 1:
                raise DesignError(
                    "the constraints leave (almost) no room: fewer than 1 in 6,400 uniform points of the box "
                    "satisfy them; check 'lower'/'upper' and the factor ranges"
                )
        return np.concatenate(chunks)[:n]

    def _from_unit(self, u: np.ndarray) -> np.ndarray:
        pts = np.empty_like(u)
        for i, f in enumerate(self.factors):
            if f.kind == "continuous":
                pts[:, i] = 2.0 * u[:, i] - 1.0
            else:
                n_levels = len(f.levels or ())
                pts[:, i] = np.minimum(np.floor(u[:, i] * n_levels), n_levels - 1)
        return pts

    def vertices(self, *, max_combinations: int = 200_000) -> np.ndarray:
        """Vertices of the continuous polytope (coded), by enumerating active-set intersections.

        Returns an empty array when the enumeration would exceed *max_combinations*; the box corners
        are returned for a box. Categorical columns are set to level 0.
        """
        cont = self.continuous
        kc = len(cont)
        if kc == 0:
            return np.zeros((0, self.k))
        planes = [np.eye(kc)[i] for i in range(kc)] + [-np.eye(kc)[i] for i in range(kc)]
        rhs = [1.0] * (2 * kc)
        Gc = self.G[:, cont]
        planes += list(Gc)
        rhs += list(self.h)
        A, b = np.array(planes), np.array(rhs)
        if math.comb(len(A), kc) > max_combinations:
            return np.zeros((0, self.k))
        found: list[np.ndarray] = []
        for combo in itertools.combinations(range(len(A)), kc):
            sub = A[list(combo)]
            if abs(np.linalg.det(sub)) < 1e-10:
                continue
            x = np.linalg.solve(sub, b[list(combo)])
            if np.all(A @ x <= b + 1e-9):
                found.append(x)
        if not found:
            return np.zeros((0, self.k))
        unique = np.unique(np.round(np.array(found), 10), axis=0)
        out = np.zeros((len(unique), self.k))
        out[:, cont] = unique
        return out
