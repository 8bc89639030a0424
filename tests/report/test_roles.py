"""The report's role views (issue 14): the manager's page, the technician's picker, the layout on a laptop and
a phone (headless Chromium), and the text defects of Table 5 and the lead-model sentence."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from glassline.report import build_report
from glassline.report._findings import CONFIDENCE_WORDS, RERUN_EXPLAIN
from glassline.report._technician import CHECKLIST

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FAMILY_CODES = re.compile(r"\b(mlr|poly2|svr|rf|xgb)\b")


def _section(text: str, section_id: str) -> str:
    start = text.index(f'<section id="{section_id}">')
    depth, position = 0, start
    for match in re.finditer(r"<(/?)section\b", text[start:]):
        depth += -1 if match.group(1) else 1
        if depth == 0:
            position = start + match.end()
            break
    return text[start:position]


def _tech_data(text: str) -> dict[str, object]:
    match = re.search(r'<script type="application/json" id="tech-data">(.*?)</script>', text, re.S)
    assert match is not None
    return json.loads(match.group(1).replace("<\\/", "</"))  # type: ignore[no-any-return]


def test_manager_view_states_levers_with_plain_words_and_no_jargon(roles_folder: Path) -> None:
    text = build_report(roles_folder).read_text(encoding="utf-8")
    manager = _section(text, "summary")
    assert text.index('<section id="summary">') < text.index('<section id="study">')
    assert "Raising <strong>Line speed</strong> lowers peel strength by about 80.4 kPa" in manager
    assert "(interval 76.2 to 84.1 kPa) across the tested range (1–3 m/min)" in manager
    assert '<span class="word clear">clear</span>' in manager
    # hedged with an interval off zero: about equal, and with what
    assert "it matters about as much as line speed" in manager
    assert '<span class="word about-equal">about equal</span>' in manager
    # hedged across zero: unclear; not stated: listed as not assessed
    assert "Possibly: raising <strong>Dryer temperature</strong> raises coat thickness" in manager
    assert '<span class="word unclear">unclear</span>' in manager
    assert "Not assessed (the model of coat thickness is too weak): Line speed." in manager
    assert "These data predict coat thickness poorly" in manager
    assert "<strong>Target</strong> (a requirement of the study): at least 200 kPa" in manager
    # the recommended setting with predicted value, interval, criterion
    assert "Recommended setting" in manager
    assert re.search(
        r"<td>\d+(\.\d+)? kPa</td><td>\d+(\.\d+)? to \d+(\.\d+)? kPa</td><td>at least 200 kPa</td>", manager
    )
    assert "How it was chosen:" in manager
    for word in CONFIDENCE_WORDS:
        assert f">{word}</span></dt>" in manager
    assert not FAMILY_CODES.search(manager)
    for jargon in ("attribution", "SHAP", "row_id", "scenario", "lead model"):
        assert jargon.lower() not in manager.lower(), jargon


def test_manager_view_names_trade_offs_of_the_recommended_setting(roles_folder: Path) -> None:
    claims = roles_folder / "explanations" / "claims.csv"
    text = claims.read_text(encoding="utf-8").replace(
        "speed,2,0.62,decreasing,0.52,none,0.05,-0.6,0.7,µm,not_stated",
        "speed,2,0.9,decreasing,0.99,decreasing,-1.5,-1.9,-1.1,µm,stated",
    )
    claims.write_text(text, encoding="utf-8")
    path = roles_folder / "explanations" / "window.json"
    window = json.loads(path.read_text(encoding="utf-8"))
    assert window["recommended"]["speed"] == 1.0  # the low end: thickness is higher there than at 3 m/min
    # the window's own trade-offs come first: each other response at the setting against its range
    manager = _section(build_report(roles_folder).read_text(encoding="utf-8"), "summary")
    assert "<strong>Trade-offs</strong>" in manager
    assert re.search(r"Coat thickness: [\d.]+ µm at this setting, between [\d.]+ and [\d.]+ µm", manager)
    # without them (an older window.json), the trade-offs are read from the claims
    window.get("recommendation", {}).pop("trade_off", None)
    path.write_text(json.dumps(window), encoding="utf-8")
    manager = _section(build_report(roles_folder).read_text(encoding="utf-8"), "summary")
    assert "<strong>Trade-offs</strong>" in manager
    assert re.search(
        r"Line speed at the low end \(1 m/min\): coat thickness is about 1.5 µm higher than at the other end, "
        r"about \d+ % of its average \(clear\)\.",
        manager,
    )


def test_views_say_what_to_rerun_without_claims(roles_folder: Path) -> None:
    (roles_folder / "explanations" / "claims.csv").unlink()
    text = build_report(roles_folder).read_text(encoding="utf-8")
    manager = _section(text, "summary")
    assert RERUN_EXPLAIN.replace("`", "&#x60;") in manager or RERUN_EXPLAIN in manager
    assert "glassline explain RESULTS_DIR" in manager
    assert "<table" not in manager
    technician = _section(text, "technician")
    assert "glassline explain RESULTS_DIR" in technician
    assert 'id="tech-data"' in technician  # the picker still works from the narratives' lead models


def test_technician_data_is_rounded_labelled_and_named(roles_folder: Path) -> None:
    text = build_report(roles_folder).read_text(encoding="utf-8")
    data = _tech_data(text)
    responses = data["responses"]
    assert isinstance(responses, list)
    assert [r["label"] for r in responses] == ["Peel strength", "Coat thickness"]
    rows = responses[0]["rows"]
    assert rows[0]["id"] == "configuration C0 · specimen 1"
    assert rows[0]["prediction"].endswith(" kPa")
    assert re.fullmatch(r"[\d.]+ to [\d.]+ kPa", rows[0]["interval"])
    assert [c[0] for c in rows[0]["contributions"]] == ["Line speed", "Dryer temperature"]
    assert rows[0]["contributions"][0][1] == "1 m/min"
    assert re.fullmatch(r"[+−][\d.]+ kPa", rows[0]["contributions"][0][2])
    blob = json.dumps(data, ensure_ascii=False)
    long = [n for n in re.findall(r"\d+\.\d+", blob) if len(n.replace(".", "").lstrip("0")) > 5]
    assert long == [], "numbers are rounded"
    for response in responses:
        for row in response["rows"]:
            low, high = (float(v) for v in re.findall(r"[\d.]+", row["interval"])[:2])
            measured = float(row["measured"].split()[0])
            # the shown numbers tell inside from outside, as the flag does
            assert row["outside"] == (not low <= measured <= high), row
    assert "{'" not in blob
    assert any(r["outside"] for r in rows), "the shifted specimen lies outside its interval"
    assert data["checks"][: len(CHECKLIST)] == list(CHECKLIST)
    technician = _section(text, "technician")
    assert "configuration and specimen" in technician
    assert re.search(r"<td class=\"l\">configuration C\d · specimen \d</td>", technician)
    assert "row_id" not in technician


def test_table5_explains_pooled_r2_and_the_lead_rule_is_the_code_rule(roles_folder: Path) -> None:
    text = build_report(roles_folder).read_text(encoding="utf-8")
    models = _section(text, "models")
    assert ">cv_r2_pooled</th>" in models
    assert ">cv_r2_mean</th>" not in models
    assert "R² of all out-of-fold predictions taken together" in models
    assert "first explainable scenario" not in text
    assert "among those the one with the highest pooled grouped-CV R²" in text
    assert "<td>" not in re.sub(r'<div class="table-wrap"><table>.*?</table></div>', "", models, flags=re.S)


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"), reason="Debian chromium is not installed here")
def test_role_views_in_headless_chromium_at_laptop_and_phone_width(roles_folder: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM is not None, "make test installs Debian's chromium; it is missing"
    report = build_report(roles_folder)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        )
        for width, height in ((1280, 900), (390, 844)):
            page = browser.new_page(viewport={"width": width, "height": height})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(report.as_uri())
            page.wait_for_load_state("load")
            scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert scroll <= inner, f"{width} px: the page scrolls sideways ({scroll} > {inner})"
            page.locator("#summary").screenshot(path=str(tmp_path / f"manager_{width}.png"))
            manager = page.locator("#summary").inner_text()
            assert not FAMILY_CODES.search(manager)
            assert "attribution" not in manager.lower()
            # the technician's picker: another row shows another prediction
            options = page.locator("#tech-row option")
            assert options.count() >= 9
            first = page.locator("#tech-out .tech-prediction").inner_text()
            ids = [options.nth(i).inner_text() for i in range(options.count())]
            other = next(i for i, name in enumerate(ids) if not name.startswith("configuration C0 "))
            page.select_option("#tech-row", str(other))
            assert page.locator("#tech-out .tech-id").inner_text() == ids[other]
            assert page.locator("#tech-out .tech-prediction").inner_text() != first
            assert page.locator("#tech-out .checklist").count() in (0, 1)
            data = _tech_data(report.read_text(encoding="utf-8"))
            outside = next(i for i, r in enumerate(data["responses"][0]["rows"]) if r["outside"])  # type: ignore[index]
            page.select_option("#tech-row", str(outside))
            assert page.locator("#tech-out .checklist li").count() == len(data["checks"])  # type: ignore[arg-type]
            inside = next(i for i, r in enumerate(data["responses"][0]["rows"]) if not r["outside"])  # type: ignore[index]
            page.select_option("#tech-row", str(inside))
            assert page.locator("#tech-out .checklist").count() == 0
            page.select_option("#tech-response", "1")
            assert "Coat thickness" in page.locator("#tech-out .tech-prediction").inner_text()
            page.locator("#technician").screenshot(path=str(tmp_path / f"technician_{width}.png"))
            page.screenshot(path=str(tmp_path / f"page_{width}.png"), full_page=False)
            page.close()
        browser.close()
    assert errors == []
    for name in ("manager_1280", "manager_390", "technician_1280", "technician_390"):
        assert (tmp_path / f"{name}.png").stat().st_size > 5_000


def test_domain_pack_check_list_follows_the_core_items(roles_folder: Path) -> None:
    from glassline.domains import DomainPack, Phrases
    from glassline.report import StudyFolder
    from glassline.report._technician import technician_data
    from glassline.spec import load_study

    pack = DomainPack(name="toy", phrases=Phrases(checklist=("Peel tester: check the grip alignment.",)))
    folder = StudyFolder(roles_folder, load_study(roles_folder / "study.toml"))
    checks = technician_data(folder, pack)["checks"]
    assert checks == [*CHECKLIST, "Peel tester: check the grip alignment."]


def test_markdown_tables_scroll_in_their_wrapper_and_limits_show_their_side() -> None:
    from glassline.report._build import _near_limit
    from glassline.report._html import markdown_html

    assert '<div class="table-wrap"><table>' in markdown_html("| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert _near_limit(0.3027, 0.3) == "0.303"
    assert _near_limit(0.2981, 0.3) == "0.298"
    assert _near_limit(0.25, 0.3) == "0.25"


def test_manager_view_of_an_empty_claims_table_says_why(roles_folder: Path) -> None:
    claims = roles_folder / "explanations" / "claims.csv"
    claims.write_text(claims.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    manager = _section(build_report(roles_folder).read_text(encoding="utf-8"), "summary")
    assert "claims.csv lists no claim" in manager
    assert "<table" not in manager


def test_manager_view_names_an_interior_optimum(roles_folder: Path) -> None:
    claims = roles_folder / "explanations" / "claims.csv"
    text = claims.read_text(encoding="utf-8").replace(
        "temp,1,0.62,increasing,0.71,increasing,0.81,-0.2,1.9,µm,hedged",
        "temp,1,0.95,increasing,0.99,optimum,0.81,0.5,1.1,µm,stated",
    )
    claims.write_text(text, encoding="utf-8")
    manager = _section(build_report(roles_folder).read_text(encoding="utf-8"), "summary")
    assert (
        "Coat thickness is highest inside the range of <strong>Dryer temperature</strong>, not at either end" in manager
    )
    # with the location the explanation stage writes to uncertainty.csv for the claim's own model (another
    # family's location for the same input must not be read)
    row = next(r for r in text.splitlines() if r.startswith("thickness,") and ",temp," in r).split(",")
    scenario, family = row[1], row[2]
    other = "rf" if family != "rf" else "mlr"
    (roles_folder / "explanations" / "uncertainty.csv").write_text(
        "target,scenario,family,factor,shape,optimum,optimum_ci_low,optimum_ci_high\n"
        f"thickness,{scenario},{family},temp,optimum,57.24,55.1,59.8\n"
        f"thickness,{scenario},{other},temp,optimum,44.0,41.0,47.0\n",
        encoding="utf-8",
    )
    manager = _section(build_report(roles_folder).read_text(encoding="utf-8"), "summary")
    assert (
        "Coat thickness is highest inside the range of <strong>Dryer temperature</strong> near Dryer temperature = "
        "57.2 °C (interval 55.1–59.8 °C), not at either end across the tested range (40–80 °C)"
    ) in manager


def test_an_outside_value_never_shows_equal_to_the_end_it_passed() -> None:
    from glassline.report._technician import _decimals, _telling

    assert _decimals(98.99) == 0
    assert _decimals(0.067) == 3
    assert _decimals(float("inf")) is None
    assert _telling(11.50712, 11.50748, 11.641, 3) == 4  # 11.507 vs 11.507 → 11.5071 vs 11.5075
    assert _telling(4.0712, 3.82, 4.0701, 2) == 3
    assert _telling(5.0, 3.0, 4.0, 1) == 1


def test_about_equal_names_the_input_a_tie_warning_pairs_it_with() -> None:
    import pandas as pd

    from glassline.report._findings import Lever
    from glassline.report._manager import _tied_with

    def lever(factor: str, rank: int, word: str) -> Lever:
        return Lever("y", factor, factor.upper(), "", float(rank), 1, "increasing", 1.0, 0.5, 1.5, "", word)

    shown = [lever("a", 1, "about equal"), lever("b", 2, "clear"), lever("c", 3, "about equal")]
    ties = pd.DataFrame([{"target": "y", "scenario": "s", "factor": "a~b", "kind": "tie", "message": ""}])
    assert _tied_with(shown[0], shown, ties) == ["B"]
    assert _tied_with(shown[0], shown, ties.iloc[0:0]) == ["C"]
    assert _tied_with(shown[1], shown, ties) == []


def test_manager_view_reads_the_windows_own_intervals_and_trade_offs(roles_folder: Path) -> None:
    path = roles_folder / "explanations" / "window.json"
    window = json.loads(path.read_text(encoding="utf-8"))
    window["recommended"].update({"strength_lower": 291.04, "strength_upper": 318.96})
    window["recommendation"] = {
        "criterion": "largest worst-case margin",
        "region": "predicted_feasible",
        "setting": {"speed": 1.0, "temp": 80.0},
        "requirements": [],
        "trade_off": [
            {"response": "strength", "better": "higher", "at_setting": 305.2, "best_in_window": 305.2, "cost": 0.0},
            {
                "response": "thickness",
                "scenario": "factors",
                "family": "mlr",
                "at_setting": 51.2,
                "box_min": 50.4,
                "box_max": 52.1,
                "position_in_range": 0.47,
                "cost_vs_max_pct": 1.73,
            },
        ],
    }
    path.write_text(json.dumps(window), encoding="utf-8")
    manager = _section(build_report(roles_folder).read_text(encoding="utf-8"), "summary")
    assert "<td>291 to 319 kPa</td>" in manager
    assert "this one meets them by the prediction only" in manager
    assert "Peel strength: 305 kPa at this setting, about the best any setting meeting every target gives." in manager
    assert (
        "Coat thickness: 51.2 µm at this setting, between 50.4 and 52.1 µm over the tested ranges: "
        "2 % below its highest."
    ) in manager
