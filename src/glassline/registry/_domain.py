"""The validity domain of a published model: input ranges plus a distance check against training rows.

A row is *inside* when every input lies within its allowed range (a factor's ``low``/``high`` from the
study; a measured input's training minimum/maximum) and its Mahalanobis distance to the training rows,
in standardized inputs, is at most the threshold: the largest training-row distance times a margin.
The range check catches single inputs outside what was tried; the distance check catches combinations
never tried (a corner of the design space far from every training row).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import Field

from glassline.spec import Study

__all__ = ["InputRange", "ValidityDomain", "Verdict", "Violation"]

FloatArray = npt.NDArray[np.float64]

#: The distance threshold is the largest training-row distance times this margin.
DISTANCE_MARGIN = 1.25


@dataclass(frozen=True)
class InputRange:
    """The allowed range of one input, with its unit and where the range came from."""

    name: str
    low: float
    high: float
    unit: str
    source: str  # "study" (a factor's low/high) or "training data" (a measured input's min/max)


ViolationKind = Literal["below", "above", "distance"]


@dataclass(frozen=True)
class Violation:
    """One reason a row is outside the domain: an input out of its range, or the row far from the training rows.

    The one violation type: the domain check returns it, the service answers it (its JSON schema is this
    class's) and the audit log records it as :meth:`as_dict`.
    """

    input: Annotated[str, Field(description="an input name, or '*' for the distance to the training rows")]
    kind: Annotated[ViolationKind, Field(description="'below', 'above' or 'distance'")]
    value: Annotated[float, Field(description="the input's value, or the row's distance")]
    limit: Annotated[float, Field(description="the range's low or high end, or the distance threshold")]
    by: Annotated[float, Field(description="how far beyond the limit (in the input's unit, or in distance units)")]

    def as_dict(self) -> dict[str, Any]:
        return {"input": self.input, "kind": self.kind, "value": self.value, "limit": self.limit, "by": self.by}


@dataclass(frozen=True)
class Verdict:
    """A row's validity-domain verdict."""

    inside: bool
    violations: tuple[Violation, ...]
    distance: Annotated[float, Field(description="Mahalanobis distance to the training rows (standardized inputs)")]

    def as_dict(self) -> dict[str, Any]:
        return {
            "inside": self.inside,
            "distance": self.distance,
            "violations": [v.as_dict() for v in self.violations],
        }


@dataclass(frozen=True)
class ValidityDomain:
    """Input ranges plus a Mahalanobis-distance check in standardized inputs."""

    ranges: tuple[InputRange, ...]
    center: tuple[float, ...]
    scale: tuple[float, ...]
    precision: tuple[tuple[float, ...], ...]  # inverse covariance of the standardized training inputs
    threshold: float

    @property
    def inputs(self) -> list[str]:
        return [r.name for r in self.ranges]

    def range_of(self, name: str) -> InputRange:
        """The range of input *name* (:class:`KeyError` for a name the domain does not hold)."""
        for r in self.ranges:
            if r.name == name:
                return r
        raise KeyError(name)

    def describe(self, violation: Violation) -> str:
        """One sentence: ``x1 = 1.5 is outside the validity domain 0 … 1 mm (above by 0.5)``."""
        v = violation
        if v.kind == "distance":
            return f"the combination is far from the training rows (distance {v.value:.3g} > {v.limit:.3g})"
        r = self.range_of(v.input)
        return (
            f"{r.name} = {v.value:.6g} is outside the validity domain {r.low:.6g} … {r.high:.6g}"
            f"{' ' + r.unit if r.unit else ''} ({v.kind} by {v.by:.3g})"
        )

    @classmethod
    def from_training(cls, study: Study, X: pd.DataFrame) -> ValidityDomain:
        """The domain of a model trained on *X* (columns: the model's inputs, in order)."""
        if len(X) < 2:
            raise ValueError("the validity domain needs at least two training rows")
        factors = {f.name: f for f in study.factors}
        units = study.units()
        ranges: list[InputRange] = []
        for name in X.columns:
            column = X[name].to_numpy(dtype=float)
            factor = factors.get(str(name))
            if factor is not None and factor.low is not None and factor.high is not None:
                low = min(factor.low, float(column.min()))
                high = max(factor.high, float(column.max()))
                ranges.append(InputRange(str(name), low, high, units.get(str(name), ""), "study"))
            else:
                ranges.append(
                    InputRange(
                        str(name), float(column.min()), float(column.max()), units.get(str(name), ""), "training data"
                    )
                )
        values = X.to_numpy(dtype=float)
        center = values.mean(axis=0)
        scale = values.std(axis=0)
        scale[~(scale > 0)] = 1.0
        z = (values - center) / scale
        covariance = np.atleast_2d(np.cov(z, rowvar=False))
        precision = np.linalg.pinv(covariance + 1e-9 * np.eye(covariance.shape[0]))
        distances = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", z, precision, z), 0.0))
        threshold = float(distances.max()) * DISTANCE_MARGIN
        return cls(
            ranges=tuple(ranges),
            center=tuple(float(c) for c in center),
            scale=tuple(float(s) for s in scale),
            precision=tuple(tuple(float(v) for v in row) for row in precision),
            threshold=threshold,
        )

    @cached_property
    def _arrays(self) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
        """center, scale, precision, lows, highs as arrays (built once; the service checks every request)."""
        return (
            np.asarray(self.center, dtype=float),
            np.asarray(self.scale, dtype=float),
            np.asarray(self.precision, dtype=float),
            np.array([r.low for r in self.ranges], dtype=float),
            np.array([r.high for r in self.ranges], dtype=float),
        )

    def distances(self, values: FloatArray) -> FloatArray:
        """Mahalanobis distances of rows (n, p) in the model's input order."""
        center, scale, precision, _, _ = self._arrays
        with np.errstate(over="ignore", invalid="ignore"):
            z = (values - center) / scale
            d = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", z, precision, z), 0.0))
        # huge inputs overflow: report the largest finite distance (JSON has no ∞)
        if np.isfinite(d).all():  # the usual case: skip the copy
            return np.asarray(d, dtype=float)
        largest = float(np.finfo(float).max)
        return np.asarray(np.nan_to_num(d, nan=largest, posinf=largest), dtype=float)

    def check(self, values: FloatArray) -> list[Verdict]:
        """One verdict per row of *values* (n, p), inputs in the model's order."""
        values = np.atleast_2d(np.asarray(values, dtype=float))
        distances = self.distances(values)
        _, _, _, lows, highs = self._arrays
        outside = (values < lows).any(axis=1) | (values > highs).any(axis=1) | (distances > self.threshold)
        verdicts: list[Verdict] = []
        for row, distance, out in zip(values, distances.tolist(), outside.tolist(), strict=True):
            if not out:
                verdicts.append(Verdict(True, (), distance))
                continue
            violations: list[Violation] = []
            for r, value in zip(self.ranges, row, strict=True):
                with np.errstate(over="ignore"):
                    if value < r.low:
                        violations.append(Violation(r.name, "below", float(value), r.low, _finite(r.low - value)))
                    elif value > r.high:
                        violations.append(Violation(r.name, "above", float(value), r.high, _finite(value - r.high)))
            if distance > self.threshold:
                violations.append(
                    Violation("*", "distance", float(distance), self.threshold, float(distance - self.threshold))
                )
            verdicts.append(Verdict(not violations, tuple(violations), float(distance)))
        return verdicts

    # -------------------------------------------------------------- JSON round trip
    def to_dict(self) -> dict[str, Any]:
        return {
            "ranges": [
                {"name": r.name, "low": r.low, "high": r.high, "unit": r.unit, "source": r.source} for r in self.ranges
            ],
            "distance": {
                "kind": "mahalanobis in standardized inputs",
                "center": list(self.center),
                "scale": list(self.scale),
                "precision": [list(row) for row in self.precision],
                "threshold": self.threshold,
                "margin": DISTANCE_MARGIN,
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ValidityDomain:
        distance = data["distance"]
        ranges: Sequence[Mapping[str, Any]] = data["ranges"]
        threshold = float(distance["threshold"])
        if not math.isfinite(threshold):
            raise ValueError(f"validity domain: the distance threshold must be finite, got {threshold}")
        return cls(
            ranges=tuple(
                InputRange(str(r["name"]), float(r["low"]), float(r["high"]), str(r["unit"]), str(r["source"]))
                for r in ranges
            ),
            center=tuple(float(v) for v in distance["center"]),
            scale=tuple(float(v) for v in distance["scale"]),
            precision=tuple(tuple(float(v) for v in row) for row in distance["precision"]),
            threshold=threshold,
        )


def _finite(x: float) -> float:
    largest = float(np.finfo(float).max)
    return float(min(max(float(x), -largest), largest))
