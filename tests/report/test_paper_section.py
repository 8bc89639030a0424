"""A report built on a small simulated-line run: the paper section, the simulated label, per-model cards, evidence."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from glassline.demo import run_demo
from shared_run import shared_run

pytestmark = pytest.mark.slow


def _report_demo(out: Path) -> None:
    """The demo on two families and two responses (the same run for test_report.py and test_paper_section.py)."""
    run_demo(out, seed=11, families=["mlr", "poly2"], targets=["adhesion_strength", "tortuosity"], n_jobs=2)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_run(tmp_path_factory, "report-demo", _report_demo)


@pytest.fixture(scope="module")
def text(run: Path) -> str:
    return (run / "report.html").read_text(encoding="utf-8")


def _section(text: str, name: str) -> str:
    start = text.index(f'id="{name}"')
    return text[start : text.index("<section", start + 10)]


def test_the_simulated_data_are_labelled_wherever_they_are(run: Path, text: str) -> None:
    assert json.loads((run / "raw" / "manifest.json").read_text(encoding="utf-8"))["simulated"] is True
    assert json.loads((run / "dataset" / "metadata.json").read_text(encoding="utf-8"))["simulated"] is True
    header = re.search(r"<header>.*?</header>", text, re.S)
    assert header is not None
    assert "data: simulated" in header.group(0)
    assert "simulated data" in _section(text, "reference")
    assert "(simulated)" in (run / "cards" / "datasheet.md").read_text(encoding="utf-8").splitlines()[0]
    for card in (run / "cards").glob("model_card_*.md"):
        assert "— simulated data" in card.read_text(encoding="utf-8").splitlines()[0]


def test_the_paper_section_cites_compares_and_redraws(run: Path, text: str) -> None:
    section = _section(text, "reference")
    assert "Reproducing the paper" in section
    assert "S. Haghi, J. Keilhofer, N. Schwarz, P. He, R. Daub" in section
    assert "doi:10.1002/batt.202300457" in section
    # a Table 5 pair: the paper's tortuosity SVM (R² train 0.97, test 0.91) in the rows beside ours
    assert re.search(r"Tortuosity</td><td[^>]*>product</td><td[^>]*>SVM</td><td[^>]*>0\.97</td>", section)
    assert "first page of Table 5" in section
    # Figs. 2, 10 (with Eq. 5 and the fitted α) and 11 (the models' FDS)
    for name in ("paper_fig2_adhesion_uncalendered", "paper_fig10_tortuosity_porosity", "paper_fig11_model_fds"):
        assert (run / "report_figures" / f"{name}.png").stat().st_size > 10_000
    assert "2.3·ε^−0.31" in section
    assert "Fig. 10" in section
    assert "Fig. 11" in section
    assert "What did not reproduce, and why" in section
    assert re.search(r"\d+ of \d+ comparisons with the paper reproduce", section)


def test_model_cards_differ_between_models(run: Path) -> None:
    cards = {p.stem: p.read_text(encoding="utf-8") for p in (run / "cards").glob("model_card_*.md")}
    adhesion = cards["model_card_adhesion_strength_product"]
    tortuosity = cards["model_card_tortuosity_product"]

    def use(card: str) -> str:
        return card.split("## Intended use")[1].split("## Out-of-scope use")[0]

    assert use(adhesion) != use(tortuosity)
    for card in cards.values():
        assert "tuned hyperparameters: {}" not in card.lower()
        assert "xgboost ?" not in card
        assert "Study purpose: I-optimal design" in card


def test_the_ai_act_map_names_its_evidence(run: Path) -> None:
    evidence = (run / "ai_act_evidence.md").read_text(encoding="utf-8")
    assert "results/results.csv (report: Models (Table 5), parity plots):" in evidence
    assert "pooled grouped-CV R²" in evidence
    # the demo's explain stage ran without bootstrap refits here: no uncertainty evidence
    explain_run = json.loads((run / "explanations" / "run.json").read_text(encoding="utf-8"))
    line = next(x for x in evidence.splitlines() if x.startswith("| Art. 15 (uncertainty)"))
    if explain_run.get("bootstrap"):
        assert "| present |" in line
        assert "grouped bootstrap refits" in line
    else:
        assert "| missing | absent: run with bootstrap" in line
