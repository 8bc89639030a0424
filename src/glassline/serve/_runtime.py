"""One served model at run time: the loaded pipeline's fast predictor and attributor, its domain, interval and
default. This is the one place that builds the prediction-and-attribution engine from a registered model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from glassline.audit import ModelId
from glassline.registry import Bundle, LoadedModel, ValidityDomain
from glassline.shapley import MAX_GRID_CELLS, Algorithm, ShapleyEngine

__all__ = ["Explanation", "ServedModel"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Explanation:
    """Predictions (n,) and interventional SHAP values (n, p) of rows; ``values.sum(1) = prediction − base_value``."""

    prediction: FloatArray
    values: FloatArray
    base_value: float


class ServedModel:
    """A registered model ready to answer: :meth:`explain` predicts and attributes rows (n, p) in the order of
    :attr:`inputs`; :attr:`domain`, :attr:`half_width` and :attr:`default` are the bundle's."""

    def __init__(self, model: LoadedModel) -> None:
        self.loaded = model
        self.bundle: Bundle = model.bundle
        self.id = ModelId(model.name, model.version)
        self.inputs: tuple[str, ...] = tuple(model.bundle.inputs)
        self.unit: str = model.bundle.unit
        self.domain: ValidityDomain = model.bundle.domain
        half = model.bundle.interval.get("half_width")
        self.half_width: float | None = float(half) if isinstance(half, int | float) and math.isfinite(half) else None
        self.default_value = float(model.bundle.default.get("value", math.nan))
        low, high = model.bundle.default.get("interval", (math.nan, math.nan))
        self.default_interval = (float(low), float(high))
        # the explain stage's engine for this model and background (same algorithm rules, same values); the
        # service lives long, so a tree ensemble is tabulated whenever its grid fits (built once, lookups per row)
        self._engine = ShapleyEngine(
            model.pipeline,
            model.bundle.background,
            kind=model.bundle.explainer.get("family_explainer"),
            inputs=self.inputs,
            table_cells=MAX_GRID_CELLS,
        )
        self.predictor_description: str = self._engine.predictor

    @property
    def name(self) -> str:
        return self.id.name

    @property
    def version(self) -> str:
        return self.id.version

    @property
    def algorithm(self) -> Algorithm:
        """How the attributions are computed (:data:`glassline.shapley.Algorithm`)."""
        return self._engine.algorithm

    @property
    def base_value(self) -> float:
        return self._engine.base_value

    def predict(self, values: FloatArray) -> FloatArray:
        """Predictions of rows (n, p) by the same predictor as :meth:`explain`, without the attributions."""
        return self._engine.predict(values)

    def explain(self, values: FloatArray) -> Explanation:
        """Predictions and attributions of rows (n, p); inputs far outside the domain may give non-finite values."""
        explained = self._engine.explain(values)
        return Explanation(explained.prediction, explained.values, explained.base_value)

    # ------------------------------------------------------------------ descriptions
    def inputs_table(self) -> list[dict[str, Any]]:
        columns = {c.name: c for c in self.bundle.study.columns()}
        return [
            {
                "name": r.name,
                "display": columns[r.name].display if r.name in columns else r.name,
                "unit": r.unit,
                "low": r.low,
                "high": r.high,
                "range_from": r.source,
            }
            for r in self.domain.ranges
        ]

    def summary(self, fallback: str) -> dict[str, Any]:
        """What ``GET /v1/models`` says of the model: target, inputs with units and ranges, domain, route."""
        bundle = self.bundle
        return {
            **self.id.as_dict(),
            "target": {
                "name": bundle.target,
                "display": bundle.study.response(bundle.target).display,
                "unit": self.unit,
            },
            "scenario": bundle.scenario,
            "family": bundle.family,
            "inputs": self.inputs_table(),
            "domain": {
                "distance_threshold": self.domain.threshold,
                "fallback": fallback,
                **self.domain.summary().as_dict(),
            },
            "predict": f"/v1/models/{self.name}/predict",
        }

    def metadata(self, fallback: str, state: str) -> dict[str, Any]:
        """What ``GET /v1/model`` (one model served) and ``GET /v1/models/{name}`` say: the summary, the interval,
        explainer, metrics, lineage, default, model card and the service's state."""
        bundle = self.bundle
        summary = self.summary(fallback)
        summary.pop("predict")
        return {
            **self.id.as_dict(),
            "run_id": self.loaded.run_id,
            **{k: v for k, v in summary.items() if k not in ("name", "version")},
            "interval": bundle.interval,
            "explainer": {
                **bundle.explainer,
                "algorithm": self.algorithm,
                "base_value": self.base_value,
                "predictor": self.predictor_description,
            },
            "metrics": bundle.metrics,
            "lineage": bundle.lineage,
            "default": bundle.default,
            "model_card": bundle.card,
            "state": state,
        }
