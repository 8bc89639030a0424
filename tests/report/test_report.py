"""The report: a self-contained page with every section, checked in headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from glassline import load_study, write_study
from glassline.cli import main
from glassline.data import prepare
from glassline.demo import run_demo
from glassline.exceptions import DataError, SpecError
from glassline.models import compare
from glassline.report import build_report, evidence_map
from shared_run import shared_run

pytestmark = pytest.mark.slow

SECTIONS = [
    "summary",
    "study",
    "design",
    "data",
    "models",
    "parity",
    "explanations",
    "limitations",
    "cards",
    "ai-act",
    "reproduce",
]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _report_demo(out: Path) -> None:
    """The demo on two families and two responses (the same run for test_report.py and test_paper_section.py)."""
    run_demo(out, seed=11, families=["mlr", "poly2"], targets=["adhesion_strength", "tortuosity"], n_jobs=2)


@pytest.fixture(scope="module")
def study_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_run(tmp_path_factory, "report-demo", _report_demo)


@pytest.fixture(scope="module")
def report(study_folder: Path) -> Path:
    return study_folder / "report.html"  # the demo's report (build_report of the folder); tests only read it


def test_report_has_every_section_and_no_external_resource(report: Path, study_folder: Path) -> None:
    text = report.read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f'id="{section}"' in text, section
    assert not re.search(r'(src|href)="(https?:)?//', text)
    assert "17 runs instead of 64" in text
    # the paper's qualitative finding, computed on the simulated line and linked to its figures
    assert "Porosity after calendering drives adhesion strength most" in text
    assert "lowering porosity after calendering from 40 % to 25 % raises predicted adhesion strength" in text
    assert 'href="#explain-adhesion_strength"' in text
    assert report.stat().st_size < 15_000_000
    assert (study_folder / "cards" / "datasheet.md").exists()
    cards = sorted((study_folder / "cards").glob("model_card_*.md"))
    assert len(cards) == 6  # 2 targets × 3 scenarios, best family each
    card = cards[0].read_text(encoding="utf-8")
    for heading in (
        "## Model details",
        "## Intended use",
        "## Out-of-scope use",
        "## Factors",
        "## Metrics",
        "## Data",
        "## Caveats",
    ):
        assert heading in card
    evidence = (study_folder / "ai_act_evidence.md").read_text(encoding="utf-8")
    assert "compliant" not in evidence.replace("not a statement of compliance", "")
    assert "Art. 13(3)(b)" in evidence


def test_evidence_map_marks_missing_items(tmp_path: Path, electrode_study_path: Path) -> None:
    table = evidence_map(tmp_path)
    assert set(table["status"]) == {"missing"}
    # evidence counts when it has content, not because a file exists: a study file with factors and units
    write_study(load_study(electrode_study_path), tmp_path / "study.toml")
    table = evidence_map(tmp_path)
    assert table.loc[table["article"] == "Art. 13(3)(e)", "status"].item() == "present"


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"), reason="Debian chromium is not installed here")
def test_report_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM is not None, "make test installs Debian's chromium; it is missing"
    requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        for section in SECTIONS:
            assert page.locator(f"#{section}").count() == 1, section
        images = page.locator("img")
        assert images.count() >= 5
        broken = page.evaluate("Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).length")
        assert broken == 0
        page.screenshot(path=str(tmp_path / "report.png"), full_page=False)
        browser.close()
    external = [u for u in requests if not u.startswith(("file:", "data:"))]
    assert external == []
    assert errors == []
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_plain_table_study_gets_a_report(tmp_path: Path, toy_line: tuple[Path, Path]) -> None:
    spec, table = toy_line
    study = load_study(spec)
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copyfile(table, raw / "data.csv")
    folder = tmp_path / "study"
    prepare(study, raw, folder / "dataset")
    compare(study, folder / "dataset", n_jobs=1).write(folder / "results")
    (folder / "results" / "study.toml").unlink()  # neither the results' copy nor a study.toml in the folder
    with pytest.raises(SpecError, match="pass --study"):
        build_report(folder)
    write_study(study, folder / "study.toml")
    with pytest.raises(SystemExit) as info:
        main(["report", str(folder / "results")])
    assert info.value.code == 0
    text = (folder / "report.html").read_text(encoding="utf-8")
    assert "toy coating line" in text
    assert 'id="models"' in text


def test_report_of_a_non_study_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a study folder"):
        build_report(tmp_path)
