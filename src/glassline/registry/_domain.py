"""The validity domain of a published model: a box of input ranges plus a calibrated distance to the training rows.

A row is *inside* when every input lies within its range and the row is near enough to the training rows.

**The box.** Each input's range says where it came from (:attr:`InputRange.source`): ``"study"`` for a study
factor (its ``low``/``high``, widened to the training minimum/maximum where a training value lies outside),
``"training data"`` for a measured input (the training rows' minimum/maximum). The range check catches a
single input outside what was planned or seen.

**The distance.** A row's distance is the Euclidean distance to its nearest training row in *range-scaled*
units (each input divided by the width of its range, so every input counts alike whatever its unit). The
threshold is calibrated by leave-one-configuration-out split conformal prediction: rows with the same
configuration (the data's group label; rows with identical inputs are one configuration whatever their
labels, so replicates never leak) are held out together, each held-out configuration's score is the median
over its rows of the distance to the nearest row of the *other* configurations, and the threshold is the
⌈(n+1)(1−α)⌉-th smallest of the n scores. A configuration never seen is then flagged with probability at
most α, and about α when n is large (the new row is compared with all n configurations, the calibration
scores with n−1, so the rate errs low). With n configurations the finest reachable level is 1/(n+1): asked
for less, the threshold is the largest score and the domain states the level it reaches instead
(:attr:`DistanceCheck.level_reached` and :attr:`DistanceCheck.note`).

**Why the nearest row and not the Mahalanobis distance** (the distance of bundles published before this
calibration; they still load and answer as before, :attr:`DistanceCheck.kind` says which). A designed
experiment's covariance is near-diagonal by construction, so the Mahalanobis distance is the distance to
the centre of the box in standardized units: it flags points far from the centre and cannot flag a region
that no configuration reached when that region is not far from the centre. Measured with
``python benchmarks/bench_domain.py`` (α = 0.1, 10 seeded designs per case, every configuration with
x1 + x2 > 1 removed): the box point x1 = x2 = high, other inputs mid-range, was flagged in 9 and 5 of 10
five- and six-input D-optimal designs by the nearest row, in 1 and 0 of 10 by the Mahalanobis distance
with the same calibration, and in 2 and 0 of 10 by the old rule (largest training distance × 1.25);
held-out configurations were flagged at 0.063–0.088 by the nearest row, 0.022–0.073 by the calibrated
Mahalanobis distance and 0.008–0.085 by the old rule. The nearest *row* (not the mean of the k nearest)
keeps every training row at distance 0, so a training row is never flagged.

On the electrode study's adhesion model (17 configurations of an I-optimal design that holds all eight
corners) nothing inside the box is flagged by either distance, rightly: no point of the box is farther
from a configuration than the configurations are from each other. Its level 0.05 cannot be reached with
17 configurations; the threshold is the largest held-out distance (level reached 1/18).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import Field

from glassline.exceptions import DataError, SpecError
from glassline.spec import Study

__all__ = [
    "DISTANCE_LEVEL",
    "DistanceCheck",
    "DomainSummary",
    "InputRange",
    "ValidityDomain",
    "Verdict",
    "Violation",
]

FloatArray = npt.NDArray[np.float64]

#: The default level α of the distance check: a configuration never seen is flagged with probability ≤ α.
DISTANCE_LEVEL = 0.05

#: The distance of bundles published with a calibrated threshold.
NEAREST_ROW = "nearest training row, range-scaled"
#: The distance of bundles published before: Mahalanobis, threshold = largest training distance × margin.
LEGACY_MAHALANOBIS = "mahalanobis in standardized inputs"
#: The margin of :data:`LEGACY_MAHALANOBIS` bundles (their threshold is read from the bundle, never recomputed).
DISTANCE_MARGIN = 1.25

#: Distances computed at once (query rows × training rows × inputs): bounds the memory of one check.
_CHUNK_ELEMENTS = 2_000_000

RangeSource = Literal["study", "training data"]


@dataclass(frozen=True)
class InputRange:
    """The allowed range of one input, with its unit and where the range came from."""

    name: str
    low: float
    high: float
    unit: str
    source: Annotated[
        RangeSource,
        Field(
            description="'study': the study's factor low/high (widened to the training min/max where a training "
            "value lies outside); 'training data': the training rows' min/max (a measured input)"
        ),
    ]


@dataclass(frozen=True)
class DistanceCheck:
    """The distance part of the domain: the metric, its threshold and the level the threshold was calibrated at."""

    kind: Annotated[str, Field(description=f"'{NEAREST_ROW}' (calibrated) or '{LEGACY_MAHALANOBIS}' (older bundles)")]
    threshold: Annotated[float, Field(description="a row farther than this from the training rows is outside")]
    level: Annotated[
        float | None, Field(description="the level α asked for at publish (null: not calibrated, an older bundle)")
    ] = None
    level_reached: Annotated[
        float | None,
        Field(description="1 − k/(n+1): the bound on the rate at which configurations never seen are flagged"),
    ] = None
    configurations: Annotated[int | None, Field(description="n: the training configurations calibrated on")] = None
    note: Annotated[str, Field(description="how the threshold was set, in one sentence")] = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "threshold": self.threshold,
            "level": self.level,
            "level_reached": self.level_reached,
            "configurations": self.configurations,
            "note": self.note,
        }


@dataclass(frozen=True)
class DomainSummary:
    """What an answer and ``GET /v1/models/{name}`` say of the domain: the box per input and the distance check."""

    box: tuple[InputRange, ...]
    distance: DistanceCheck

    def as_dict(self) -> dict[str, Any]:
        return {
            "box": [
                {"name": r.name, "low": r.low, "high": r.high, "unit": r.unit, "source": r.source} for r in self.box
            ],
            "distance": self.distance.as_dict(),
        }


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
    distance: Annotated[
        float, Field(description="distance to the training rows, in the metric of the domain's distance.kind")
    ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "inside": self.inside,
            "distance": self.distance,
            "violations": [v.as_dict() for v in self.violations],
        }


# ---------------------------------------------------------------------------------------------- metrics
@dataclass(frozen=True)
class _NearestRow:
    """Euclidean distance to the nearest training row, each input divided by its range's width."""

    points: tuple[tuple[float, ...], ...]  # the distinct training rows, in the inputs' units
    scale: tuple[float, ...]  # the width of each input's range (1 for a range of zero width)

    @cached_property
    def _scaled(self) -> FloatArray:
        return np.asarray(np.asarray(self.points, dtype=float) / np.asarray(self.scale, dtype=float), dtype=float)

    def distances(self, values: FloatArray) -> FloatArray:
        with np.errstate(over="ignore", invalid="ignore"):
            return _nearest(values / np.asarray(self.scale, dtype=float), self._scaled)

    def to_dict(self) -> dict[str, Any]:
        return {"points": [list(p) for p in self.points], "scale": list(self.scale)}


@dataclass(frozen=True)
class _Mahalanobis:
    """The distance of bundles published before the calibrated threshold (read from them, never built anew)."""

    center: tuple[float, ...]
    scale: tuple[float, ...]
    precision: tuple[tuple[float, ...], ...]  # inverse covariance of the standardized training inputs

    @cached_property
    def _arrays(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        return (
            np.asarray(self.center, dtype=float),
            np.asarray(self.scale, dtype=float),
            np.asarray(self.precision, dtype=float),
        )

    def distances(self, values: FloatArray) -> FloatArray:
        center, scale, precision = self._arrays
        with np.errstate(over="ignore", invalid="ignore"):
            z = (values - center) / scale
            return np.asarray(np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", z, precision, z), 0.0)), dtype=float)

    def to_dict(self) -> dict[str, Any]:
        return {
            "center": list(self.center),
            "scale": list(self.scale),
            "precision": [list(row) for row in self.precision],
            "margin": DISTANCE_MARGIN,
        }


_Metric = _NearestRow | _Mahalanobis


def _nearest(
    queries: FloatArray,
    points: FloatArray,
    *,
    query_labels: npt.NDArray[np.int64] | None = None,
    point_labels: npt.NDArray[np.int64] | None = None,
) -> FloatArray:
    """Each query row's Euclidean distance to its nearest row of *points*, in chunks of bounded memory.

    With labels (one per query, one per point), a query skips the points of its own label.
    """
    n, p = points.shape
    chunk = max(1, _CHUNK_ELEMENTS // max(1, n * p))
    out = np.empty(len(queries), dtype=float)
    for start in range(0, len(queries), chunk):
        block = queries[start : start + chunk]
        with np.errstate(over="ignore", invalid="ignore"):
            squared = ((block[:, None, :] - points[None, :, :]) ** 2).sum(axis=2)
        if query_labels is not None and point_labels is not None:
            squared[query_labels[start : start + chunk, None] == point_labels[None, :]] = np.inf
        out[start : start + chunk] = np.sqrt(squared.min(axis=1))
    return out


def _configurations(values: FloatArray, groups: Sequence[Any] | None) -> npt.NDArray[np.int64]:
    """One configuration id per row: the group label, with rows of identical inputs joined whatever their labels."""
    parent: dict[Any, Any] = {}

    def root(x: Any) -> Any:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    labels: list[Any] = [("row", tuple(row)) for row in values.tolist()] if groups is None else list(groups)
    first_label: dict[tuple[float, ...], Any] = {}
    for label, row in zip(labels, values.tolist(), strict=True):
        key = tuple(row)
        other = first_label.setdefault(key, label)
        a, b = root(("label", label)), root(("label", other))
        if a != b:
            parent[a] = b
    ids: dict[Any, int] = {}
    return np.array([ids.setdefault(root(("label", label)), len(ids)) for label in labels], dtype=np.int64)


def conformal_rank(n: int, level: float) -> int:
    """k = ⌈(n+1)(1−α)⌉, capped at *n*: the threshold is the k-th smallest of *n* calibration scores."""
    exact = (n + 1) * (1.0 - level)
    k = math.ceil(exact - 1e-9 * max(1.0, exact))  # (n+1)(1−α) = 19.000000000000004 is 19, not 20
    return max(1, min(k, n))


def _check_level(level: float) -> float:
    if isinstance(level, bool) or not isinstance(level, int | float) or not (0.0 < float(level) < 1.0):
        raise SpecError(f"distance level: expected a number between 0 and 1 (such as {DISTANCE_LEVEL}), got {level!r}")
    return float(level)


# ---------------------------------------------------------------------------------------------- the domain
@dataclass(frozen=True)
class ValidityDomain:
    """The box of input ranges plus a distance check against the training rows (:class:`DistanceCheck`)."""

    ranges: tuple[InputRange, ...]
    metric: _Metric = field(repr=False)
    distance: DistanceCheck

    @property
    def inputs(self) -> list[str]:
        return [r.name for r in self.ranges]

    @property
    def threshold(self) -> float:
        """The distance threshold (:attr:`DistanceCheck.threshold`)."""
        return self.distance.threshold

    def summary(self) -> DomainSummary:
        """The box per input (with each range's source) and the distance check: what the service states."""
        return DomainSummary(self.ranges, self.distance)

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
            return (
                f"the combination is far from the training rows (distance {v.value:.3g} > {v.limit:.3g}, "
                f"{self.distance.kind})"
            )
        r = self.range_of(v.input)
        return (
            f"{r.name} = {v.value:.6g} is outside the validity domain {r.low:.6g} … {r.high:.6g}"
            f"{' ' + r.unit if r.unit else ''} ({v.kind} by {v.by:.3g})"
        )

    @classmethod
    def from_training(
        cls,
        study: Study,
        X: pd.DataFrame,
        *,
        groups: Sequence[Any] | pd.Series | None = None,
        level: float = DISTANCE_LEVEL,
    ) -> ValidityDomain:
        """The domain of a model trained on *X* (columns: the model's inputs, in order).

        *groups*: one configuration label per row of *X* (a Series is aligned on *X*'s index); rows with
        identical inputs are one configuration whatever their labels. Without labels, every distinct row is
        a configuration. *level*: α of the distance check (:data:`DISTANCE_LEVEL`).
        """
        level = _check_level(level)
        values = X.to_numpy(dtype=float)
        if len(values) == 0:
            raise DataError("validity domain: no training rows; expected at least two configurations")
        bad = ~np.isfinite(values)
        if bad.any():
            i, j = (int(a[0]) for a in np.nonzero(bad))
            raise DataError(
                f"validity domain: training row {X.index[i]!r}, column {X.columns[j]!r}: expected a finite number, "
                f"got {float(values[i, j])!r}"
            )
        labels: Sequence[Any] | None
        if isinstance(groups, pd.Series):
            labels = groups.reindex(X.index).tolist()
        else:
            labels = None if groups is None else list(groups)
        if labels is not None and len(labels) != len(values):
            raise DataError(f"validity domain: {len(labels)} configuration labels for {len(values)} training rows")
        ranges = _ranges(study, X)
        widths = np.array([r.high - r.low for r in ranges], dtype=float)
        scale = np.where(widths > 0, widths, 1.0)  # a constant input: its range already refuses any other value
        configuration = _configurations(values, labels)
        n = int(configuration.max()) + 1
        if n < 2:
            raise DataError(
                f"validity domain: the {len(values)} training rows hold 1 configuration; the distance check is "
                "calibrated on held-out configurations and needs at least 2"
            )
        z = values / scale
        row_scores = _nearest(z, z, query_labels=configuration, point_labels=configuration)
        scores = np.array([float(np.median(row_scores[configuration == c])) for c in range(n)])
        k = conformal_rank(n, level)
        threshold = float(np.sort(scores)[k - 1])
        reached = 1.0 - k / (n + 1)
        note = (
            f"leave-one-configuration-out split conformal: the {k}-th smallest of {n} held-out configurations' "
            f"distances to the nearest row of the others, range-scaled"
        )
        if reached > level + 1e-12:
            note += (
                f"; level {level:g} cannot be reached with {n} configurations (the finest is 1/(n+1) = "
                f"{1 / (n + 1):.3g}): the largest distance is the threshold"
            )
        points = np.unique(values, axis=0)
        return cls(
            ranges=ranges,
            metric=_NearestRow(
                points=tuple(tuple(float(v) for v in row) for row in points),
                scale=tuple(float(s) for s in scale),
            ),
            distance=DistanceCheck(
                kind=NEAREST_ROW,
                threshold=threshold,
                level=level,
                level_reached=reached,
                configurations=n,
                note=note,
            ),
        )

    @cached_property
    def _bounds(self) -> tuple[FloatArray, FloatArray]:
        """lows, highs as arrays (built once; the service checks every request)."""
        return (
            np.array([r.low for r in self.ranges], dtype=float),
            np.array([r.high for r in self.ranges], dtype=float),
        )

    def distances(self, values: FloatArray) -> FloatArray:
        """Distances of rows (n, p), in the model's input order, to the training rows (:attr:`DistanceCheck.kind`)."""
        d = self.metric.distances(np.atleast_2d(np.asarray(values, dtype=float)))
        # huge inputs overflow: report the largest finite distance (JSON has no ∞)
        if np.isfinite(d).all():  # the usual case: skip the copy
            return np.asarray(d, dtype=float)
        largest = float(np.finfo(float).max)
        return np.asarray(np.nan_to_num(d, nan=largest, posinf=largest), dtype=float)

    def check(self, values: FloatArray) -> list[Verdict]:
        """One verdict per row of *values* (n, p), inputs in the model's order."""
        values = np.atleast_2d(np.asarray(values, dtype=float))
        distances = self.distances(values)
        lows, highs = self._bounds
        threshold = self.threshold
        outside = (values < lows).any(axis=1) | (values > highs).any(axis=1) | (distances > threshold)
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
            if distance > threshold:
                violations.append(Violation("*", "distance", float(distance), threshold, float(distance - threshold)))
            verdicts.append(Verdict(not violations, tuple(violations), float(distance)))
        return verdicts

    # -------------------------------------------------------------- JSON round trip
    def to_dict(self) -> dict[str, Any]:
        return {
            "ranges": [
                {"name": r.name, "low": r.low, "high": r.high, "unit": r.unit, "source": r.source} for r in self.ranges
            ],
            "distance": {**self.distance.as_dict(), **self.metric.to_dict()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ValidityDomain:
        """The domain of ``domain.json``, of this version or of a bundle published before the calibrated
        threshold (then the Mahalanobis distance and its stored threshold, as that bundle answered)."""
        distance = data["distance"]
        ranges: Sequence[Mapping[str, Any]] = data["ranges"]
        threshold = float(distance["threshold"])
        if not math.isfinite(threshold):
            raise ValueError(f"validity domain: the distance threshold must be finite, got {threshold}")
        box = tuple(
            InputRange(str(r["name"]), float(r["low"]), float(r["high"]), str(r["unit"]), _source(r["source"]))
            for r in ranges
        )
        kind = str(distance.get("kind", LEGACY_MAHALANOBIS))
        metric: _Metric
        if kind == NEAREST_ROW:
            metric = _NearestRow(
                points=tuple(tuple(float(v) for v in row) for row in distance["points"]),
                scale=tuple(float(v) for v in distance["scale"]),
            )
            level = distance.get("level")
            reached = distance.get("level_reached")
            configurations = distance.get("configurations")
            check = DistanceCheck(
                kind=kind,
                threshold=threshold,
                level=None if level is None else float(level),
                level_reached=None if reached is None else float(reached),
                configurations=None if configurations is None else int(configurations),
                note=str(distance.get("note", "")),
            )
        elif kind == LEGACY_MAHALANOBIS:
            metric = _Mahalanobis(
                center=tuple(float(v) for v in distance["center"]),
                scale=tuple(float(v) for v in distance["scale"]),
                precision=tuple(tuple(float(v) for v in row) for row in distance["precision"]),
            )
            margin = float(distance.get("margin", DISTANCE_MARGIN))
            check = DistanceCheck(
                kind=kind,
                threshold=threshold,
                note=f"published before calibrated thresholds: the largest training-row distance × {margin:g}, "
                "no stated level",
            )
        else:
            known = [NEAREST_ROW, LEGACY_MAHALANOBIS]
            raise DataError(f"domain.json: distance.kind: expected one of {known}, got {kind!r}")
        return cls(ranges=box, metric=metric, distance=check)


def _ranges(study: Study, X: pd.DataFrame) -> tuple[InputRange, ...]:
    """The box: a factor's study range (widened to the training min/max), a measured input's training min/max."""
    factors = {f.name: f for f in study.factors}
    units = study.units()
    ranges: list[InputRange] = []
    for name in X.columns:
        column = X[name].to_numpy(dtype=float)
        factor = factors.get(str(name))
        unit = units.get(str(name), "")
        if factor is not None and factor.low is not None and factor.high is not None:
            low = min(factor.low, float(column.min()))
            high = max(factor.high, float(column.max()))
            ranges.append(InputRange(str(name), low, high, unit, "study"))
        else:
            ranges.append(InputRange(str(name), float(column.min()), float(column.max()), unit, "training data"))
    return tuple(ranges)


def _source(value: Any) -> RangeSource:
    if value == "study":
        return "study"
    if value == "training data":
        return "training data"
    raise DataError(f"domain.json: ranges[].source: expected 'study' or 'training data', got {value!r}")


def _finite(x: float) -> float:
    largest = float(np.finfo(float).max)
    return float(min(max(float(x), -largest), largest))
