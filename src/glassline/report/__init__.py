"""The report: one self-contained HTML file, model cards, a datasheet and the AI-Act evidence map."""

from glassline.report._build import build_report, find_study_folder
from glassline.report._cards import StudyFolder, card_facts, cv_spreads, datasheet, simulated_data, write_cards
from glassline.report._evidence import evidence_map, evidence_markdown
from glassline.report._manager import StudyLever, study_levers
from glassline.report._model_card import (
    CardEffect,
    CardFacts,
    CardInput,
    MetricSpread,
    library_version,
    model_card,
    tuned_hyperparameters,
)

__all__ = [
    "CardEffect",
    "CardFacts",
    "CardInput",
    "MetricSpread",
    "StudyFolder",
    "StudyLever",
    "build_report",
    "card_facts",
    "cv_spreads",
    "datasheet",
    "evidence_map",
    "evidence_markdown",
    "find_study_folder",
    "library_version",
    "model_card",
    "simulated_data",
    "study_levers",
    "tuned_hyperparameters",
    "write_cards",
]
