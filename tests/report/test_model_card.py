"""One model card generator: the report's card and the registry's card have the same sections and facts."""

from __future__ import annotations

import pytest

from glassline import Study
from glassline.report import CardFacts, CardInput, model_card

SECTIONS = (
    "## Model details",
    "## Intended use",
    "## Out-of-scope use",
    "## Factors",
    "## Metrics",
    "## Data",
    "### Training data",
    "### Evaluation data",
    "## Quantitative analyses",
    "## Ethical considerations",
    "## Caveats and recommendations",
)

ROW = {
    "target": "y",
    "scenario": "factors",
    "family": "poly2",
    "cv_r2_pooled": 0.91,
    "cv_r2_mean": 0.9,
    "cv_r2_std": 0.04,
    "cv_rmse_mean": 0.21,
    "cv_rmse_std": 0.03,
    "r2_test": 0.93,
    "rmse_test": 0.19,
    "mse_ratio": 0.8,
    "n_train": 40,
    "n_test": 11,
    "params": "{'alpha': 0.1}",
    "explainable": True,
    "max_vif": 1.2,
    "max_abs_r": 0.1,
}


@pytest.fixture
def facts(study: Study) -> CardFacts:
    inputs = tuple(CardInput(f.name, f.display, f.unit, f.low, f.high) for f in study.factors)
    return CardFacts(study=study, target="y", scenario="factors", family="poly2", metrics=ROW, inputs=inputs)


def _with(facts: CardFacts, **extra: object) -> CardFacts:
    return CardFacts(**{**facts.__dict__, **extra})


def test_a_card_has_every_section_and_the_metrics(facts: CardFacts) -> None:
    card = model_card(_with(facts, n_folds=4))
    for heading in SECTIONS:
        assert heading in card
    assert "| R² grouped CV (pooled out-of-fold) | 0.91 |" in card
    assert "0.9 ± 0.0392" in card  # 1.96 × 0.04 / √4
    assert "Data hash" not in card  # not published: no lineage


def test_a_published_card_adds_lineage_domain_and_interval(facts: CardFacts) -> None:
    card = model_card(
        _with(
            facts,
            lineage={"data_hash": "sha256:abc", "glassline_version": "0.1.0", "published_at": "2026-12-01"},
            interval={"level": 0.9, "half_width": 0.35, "method": "split conformal"},
            domain_threshold=3.2,
            background_rows=40,
            explainer="closed-form polynomial",
        )
    )
    assert "Data hash sha256:abc" in card
    assert "| 90% prediction interval half-width [kPa] | 0.35 |" in card
    assert "Mahalanobis distance 3.2" in card
    assert "SHAP background: 40 of them" in card
    assert "Attributions: closed-form polynomial." in card


def test_missing_metrics_print_a_dash_not_nan(facts: CardFacts) -> None:
    card = model_card(_with(facts, metrics={**ROW, "r2_test": float("nan"), "max_vif": None}))
    assert "nan" not in card.lower()
    assert "| R² test (paper's random 80/20 split) | – |" in card


def test_a_calibrated_domain_is_stated_in_a_sentence(facts: CardFacts) -> None:
    check = {
        "kind": "nearest training row, range-scaled",
        "threshold": 0.42,
        "level": 0.05,
        "level_reached": 1 / 18,
        "configurations": 17,
        "note": "",
    }
    card = model_card(_with(facts, domain_threshold=0.42, domain_check=check))
    assert "Mahalanobis" not in card
    assert "'study' ranges are the study's factor low/high" in card
    assert "within distance 0.42 of its nearest training row" in card
    assert "split-conformal quantile over 17 configurations" in card
    assert "flagged with probability at most 0.0556 (level 0.05 asked for; with 17 configurations the finest" in card
    reached = model_card(_with(facts, domain_threshold=0.42, domain_check={**check, "level": 0.1}))
    assert "at most 0.0556 (level 0.1)." in reached
