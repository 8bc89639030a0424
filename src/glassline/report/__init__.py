"""The report: one self-contained HTML file, model cards, a datasheet and the AI-Act evidence map."""

from glassline.report._build import build_report, find_study_folder
from glassline.report._cards import StudyFolder, card_facts, datasheet, write_cards
from glassline.report._evidence import evidence_map, evidence_markdown
from glassline.report._model_card import CardFacts, CardInput, model_card

__all__ = [
    "CardFacts",
    "CardInput",
    "StudyFolder",
    "build_report",
    "card_facts",
    "datasheet",
    "evidence_map",
    "evidence_markdown",
    "find_study_folder",
    "model_card",
    "write_cards",
]
