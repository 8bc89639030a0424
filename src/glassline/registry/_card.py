"""The facts a published bundle adds to its model card; the card itself is :func:`glassline.report.model_card`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from glassline.report._model_card import CardFacts, CardInput

if TYPE_CHECKING:
    from glassline.registry._bundle import Bundle

__all__ = ["bundle_card_facts"]


def bundle_card_facts(bundle: Bundle) -> CardFacts:
    """The card facts of a bundle: its results row, plus lineage, validity domain, interval and explainer."""
    study = bundle.study
    inputs = []
    for r in bundle.domain.ranges:
        column = study.column(r.name) if r.name in {c.name for c in study.columns()} else None
        inputs.append(
            CardInput(
                name=r.name,
                display=column.display if column is not None else r.name,
                unit=r.unit,
                low=r.low,
                high=r.high,
                source=r.source,
            )
        )
    metrics = dict(bundle.metrics)
    for key in ("n_train", "n_test"):
        metrics.setdefault(key, bundle.lineage.get(key))
    return CardFacts(
        study=study,
        target=bundle.target,
        scenario=bundle.scenario,
        family=bundle.family,
        metrics=metrics,
        inputs=tuple(inputs),
        pipeline="the registered MLflow model version (scikit-learn flavour) with this bundle",
        lineage=dict(bundle.lineage),
        interval=dict(bundle.interval),
        domain_threshold=float(bundle.domain.threshold),
        domain_check=bundle.domain.distance.as_dict() if bundle.domain.distance.level is not None else {},
        background_rows=bundle.explainer.get("background_rows"),
        explainer=str(bundle.explainer.get("method", "")),
        simulated=bundle.lineage.get("simulated") is True,
    )
