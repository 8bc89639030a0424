"""What-if curves: predictions, intervals and attributions along one or two factors for one row.

The profiler's curves with bands (one factor) and the paper's Fig. 2-style contours (two factors): every
other factor stays at the row's value; each point says whether the validity domain holds it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from glassline.exceptions import SpecError
from glassline.optimize._problem import BoolArray, FloatArray, Space, Surface

__all__ = ["WhatIf", "what_if"]


@dataclass
class WhatIf:
    """Per surface: predictions, interval ends and (when the surface explains) attributions over the grid of
    ``axes`` (one or two factors); ``inside`` per grid point. Arrays have the grid's shape (``len`` of each
    axis); attributions one more axis, over the surface's inputs."""

    factors: tuple[str, ...]
    axes: list[FloatArray]
    row: dict[str, float]
    inside: BoolArray
    predictions: dict[str, FloatArray]
    lower: dict[str, FloatArray | None]
    upper: dict[str, FloatArray | None]
    attributions: dict[str, FloatArray | None]
    inputs: dict[str, tuple[str, ...]]

    def as_dict(self) -> dict[str, Any]:
        def plain(a: FloatArray | None) -> Any:
            return None if a is None else np.asarray(a).tolist()

        return {
            "factors": list(self.factors),
            "axes": {f: a.tolist() for f, a in zip(self.factors, self.axes, strict=True)},
            "row": self.row,
            "inside": self.inside.tolist(),
            "responses": {
                name: {
                    "prediction": plain(self.predictions[name]),
                    "lower": plain(self.lower[name]),
                    "upper": plain(self.upper[name]),
                    "attributions": None
                    if self.attributions[name] is None
                    else {
                        inp: np.asarray(self.attributions[name])[..., k].tolist()
                        for k, inp in enumerate(self.inputs[name])
                    },
                }
                for name in self.predictions
            },
        }


def what_if(
    row: Mapping[str, Any],
    surfaces: Sequence[Surface],
    space: Space,
    factors: Sequence[str],
    *,
    points: int = 41,
    ranges: Mapping[str, tuple[float, float]] | None = None,
) -> WhatIf:
    """Predictions, intervals and attributions of *surfaces* along one or two *factors* of *row*.

    Parameters
    ----------
    row
        Factor name → value (every factor of *space*).
    surfaces
        The models to profile.
    space
        The box (axis ranges by default) and the validity domain.
    factors
        One factor (a curve) or two (a contour grid).
    points
        Points per axis.
    ranges
        Factor → (low, high) of an axis other than its box range.
    """
    if not 1 <= len(factors) <= 2:
        raise SpecError(f"what-if: give one or two factors, got {len(factors)}: {list(factors)}")
    if len(set(factors)) != len(factors):
        raise SpecError(f"what-if: the two factors must differ, got {list(factors)}")
    if points < 2:
        raise SpecError(f"what-if: points must be at least 2, got {points}")
    x0 = space.vector(row)
    idx = [space.index(f, "what-if factor") for f in factors]
    axes = []
    for name, j in zip(factors, idx, strict=True):
        low, high = (ranges or {}).get(name, (space.low[j], space.high[j]))
        if not low < high:
            raise SpecError(f"what-if: the range of {name!r} needs low < high, got {low!r} … {high!r}")
        axes.append(np.linspace(float(low), float(high), points))
    mesh = np.meshgrid(*axes, indexing="ij")
    X = np.repeat(x0[None, :], mesh[0].size, axis=0)
    for j, m in zip(idx, mesh, strict=True):
        X[:, j] = m.ravel()
    shape = mesh[0].shape
    predictions: dict[str, FloatArray] = {}
    lower: dict[str, FloatArray | None] = {}
    upper: dict[str, FloatArray | None] = {}
    attributions: dict[str, FloatArray | None] = {}
    inputs: dict[str, tuple[str, ...]] = {}
    for s in surfaces:
        cols = [space.index(n, f"input of {s.name!r}") for n in s.inputs]
        rows = X[:, cols]
        if s.explain is not None:
            p, values = s.explain(rows)
            attributions[s.name] = np.asarray(values, dtype=float).reshape(*shape, len(cols))
        else:
            p = s.values(rows)
            attributions[s.name] = None
        p = np.asarray(p, dtype=float).reshape(shape)
        predictions[s.name] = p
        lower[s.name] = None if s.half_width is None else p - s.half_width
        upper[s.name] = None if s.half_width is None else p + s.half_width
        inputs[s.name] = s.inputs
    return WhatIf(
        tuple(factors),
        axes,
        {n: float(v) for n, v in zip(space.factors, x0, strict=True)},
        space.contains(X).reshape(shape),
        predictions,
        lower,
        upper,
        attributions,
        inputs,
    )
