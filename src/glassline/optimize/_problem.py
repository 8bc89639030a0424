"""What the optimiser works on: fitted response surfaces, the design space with its validity domain, and bounds.

A :class:`Surface` is one fitted model as its caller predicts with it (the service's predictor for a served
model, :meth:`glassline.models.Fit.predict` for a results folder) with the half-width of its prediction
interval; the optimiser never predicts any other way. A :class:`Space` is the box of the factors plus the
caller's validity-domain check (the service's :meth:`~glassline.registry.ValidityDomain.check`). A
:class:`Target` bounds one surface's prediction (``low``, ``high`` or both).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from glassline.exceptions import DataError, SpecError, did_you_mean

__all__ = ["Bounds", "Space", "Surface", "Target", "parse_bounds"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: ``NAME OP NUMBER``: a response or served-model name (model names may hold ``-``, ``.``), then the bound.
_REQUIREMENT = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_.\-]*?)\s*(>=|<=|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$"
)


@dataclass(frozen=True)
class Surface:
    """One fitted response model: *predict* takes rows (n, len(inputs)) in the order of *inputs*.

    *half_width*: the prediction interval is ``prediction ± half_width`` (None: no interval known);
    *estimator*: the fitted pipeline, read for its structure (tree thresholds, affine or quadratic form);
    *reference*: rows (m, len(inputs)) the tree table is verified on; *explain*: predictions and
    attributions of rows, for what-if curves; *level*: the interval's level; *spread*: the response's
    training standard deviation (the margin's unit when no interval is known).
    """

    name: str
    inputs: tuple[str, ...]
    predict: Callable[[FloatArray], FloatArray]
    half_width: float | None = None
    unit: str = ""
    estimator: Any = None
    reference: FloatArray | None = None
    explain: Callable[[FloatArray], tuple[FloatArray, FloatArray]] | None = None
    level: float | None = None
    spread: float | None = None

    def values(self, rows: FloatArray) -> FloatArray:
        """Predictions of rows (n, len(inputs)) as a flat float array."""
        return np.asarray(self.predict(np.asarray(rows, dtype=float)), dtype=float).reshape(-1)

    def interval(self, prediction: float) -> tuple[float | None, float | None]:
        """The interval around *prediction* as the service states it ((None, None) when unknown)."""
        if self.half_width is None:
            return None, None
        return prediction - self.half_width, prediction + self.half_width


@dataclass(frozen=True)
class Space:
    """The factors' box (``low`` … ``high`` per factor, in the study's units) and the validity domain's own check.

    *inside* takes rows (n, len(factors)) and answers, per row, whether the validity domain holds it (the box is
    checked here anyway); None when the box is the whole domain.
    """

    factors: tuple[str, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    units: tuple[str, ...] = ()
    inside: Callable[[FloatArray], BoolArray] | None = None
    domain: str = "the factors' ranges"

    def __post_init__(self) -> None:
        p = len(self.factors)
        if len(self.low) != p or len(self.high) != p:
            raise SpecError(
                f"space: expected a low and a high per factor ({p}); got {len(self.low)} and {len(self.high)}"
            )
        for name, lo, hi in zip(self.factors, self.low, self.high, strict=True):
            if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
                raise SpecError(f"space: factor {name!r} needs finite low ≤ high; got {lo!r} … {hi!r}")
        if not self.units:
            object.__setattr__(self, "units", ("",) * p)

    @property
    def lows(self) -> FloatArray:
        return np.asarray(self.low, dtype=float)

    @property
    def highs(self) -> FloatArray:
        return np.asarray(self.high, dtype=float)

    @property
    def widths(self) -> FloatArray:
        return self.highs - self.lows

    def index(self, name: str, what: str = "factor") -> int:
        """Position of factor *name*; a SpecError naming the factors otherwise."""
        try:
            return self.factors.index(name)
        except ValueError:
            raise SpecError(
                f"unknown {what} {name!r}; factors are {list(self.factors)}." + did_you_mean(name, self.factors)
            ) from None

    def in_box(self, rows: FloatArray) -> BoolArray:
        tol = 1e-12 * np.maximum(self.widths, 1.0)
        return np.asarray(np.all((rows >= self.lows - tol) & (rows <= self.highs + tol), axis=1), dtype=bool)

    def contains(self, rows: FloatArray) -> BoolArray:
        """Inside the box and inside the validity domain (per row)."""
        rows = np.atleast_2d(np.asarray(rows, dtype=float))
        ok = self.in_box(rows)
        if self.inside is not None and ok.any():
            ok[ok] = np.asarray(self.inside(rows[ok]), dtype=bool)
        return ok

    def vector(self, row: Mapping[str, Any], what: str = "row") -> FloatArray:
        """The row's values in factor order; a DataError names a missing, unknown or non-finite value."""
        if not isinstance(row, Mapping):
            raise DataError(f"{what}: expected an object of factor values {list(self.factors)}; got {row!r}")
        unknown = [k for k in row if k not in self.factors]
        if unknown:
            raise DataError(
                f"{what}: unknown factor {unknown[0]!r}; factors are {list(self.factors)}."
                + did_you_mean(str(unknown[0]), self.factors)
            )
        missing = [f for f in self.factors if f not in row]
        if missing:
            raise DataError(f"{what}: factor {missing[0]!r} is missing; give every factor {list(self.factors)}")
        values = []
        for name in self.factors:
            value = row[name]
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(float(value)):
                raise DataError(f"{what}.{name}: expected a finite number, got {value!r}")
            values.append(float(value))
        return np.asarray(values, dtype=float)


@dataclass(frozen=True)
class Target:
    """A bound on one surface's prediction: ``low ≤ y ≤ high`` (either may be None, not both)."""

    surface: Surface
    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        name = self.surface.name
        if self.low is None and self.high is None:
            raise SpecError(f"requirement on {name!r}: give a min, a max or both")
        for end, value in (("min", self.low), ("max", self.high)):
            if value is not None and (isinstance(value, bool) or not math.isfinite(float(value))):
                raise SpecError(f"requirement on {name!r}: {end} must be a finite number, got {value!r}")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise SpecError(f"requirement on {name!r}: min {self.low:g} is above max {self.high:g}")

    def __str__(self) -> str:
        parts = []
        if self.low is not None:
            parts.append(f"{self.surface.name} >= {self.low:g}")
        if self.high is not None:
            parts.append(f"{self.surface.name} <= {self.high:g}")
        return " and ".join(parts)


@dataclass(frozen=True)
class Bounds:
    """Bounds parsed from requirement texts, per response: ``{name: (min or None, max or None)}``."""

    by_response: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)

    def __iter__(self) -> Any:
        return iter(self.by_response.items())


def parse_bounds(texts: Iterable[str], responses: Sequence[str] | None = None) -> Bounds:
    """``["adhesion_strength>=350", "ionic_resistance<=280"]`` → bounds per response (``>`` counts as ``>=``).

    A SpecError names a text that is not ``NAME OP NUMBER`` (OP one of ``>=``, ``<=``, ``>``, ``<``), a response
    not in *responses*, a bound given twice, or a min above the max.
    """
    out: dict[str, tuple[float | None, float | None]] = {}
    for text in texts:
        match = _REQUIREMENT.match(str(text))
        if match is None:
            raise SpecError(
                f"requirement {text!r}: expected NAME OP NUMBER with OP one of >=, <=, >, < "
                '(e.g. "adhesion_strength>=350")'
            )
        name, op, value = match.group(1), match.group(2), float(match.group(3))
        if responses is not None and name not in responses:
            raise SpecError(
                f"requirement {text!r}: no response or model named {name!r}; known: {list(responses)}."
                + did_you_mean(name, responses)
            )
        low, high = out.get(name, (None, None))
        if op in (">=", ">"):
            if low is not None:
                raise SpecError(f"requirement {text!r}: {name} already has a lower bound ({low:g})")
            low = value
        else:
            if high is not None:
                raise SpecError(f"requirement {text!r}: {name} already has an upper bound ({high:g})")
            high = value
        if low is not None and high is not None and low > high:
            raise SpecError(f"requirement {text!r}: {name} would need ≥ {low:g} and ≤ {high:g} at once")
        out[name] = (low, high)
    return Bounds(out)
