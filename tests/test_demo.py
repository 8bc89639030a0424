"""``glassline demo`` end to end, from the shipped study to prepared tables."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from glassline.cli import main
from glassline.demo import run_demo

pytestmark = pytest.mark.slow


def test_demo_python(tmp_path: Path) -> None:
    result = run_demo(tmp_path / "demo", seed=7, families=["mlr", "poly2"], targets=["adhesion_strength", "tortuosity"])
    assert result.i_criterion <= 0.3222
    assert "17 runs instead of 64" in result.design_line
    design = pd.read_csv(tmp_path / "demo" / "design.csv")
    assert len(design) == 17
    assert design["configuration"].is_unique
    truth = json.loads((tmp_path / "demo" / "raw" / "truth.json").read_text(encoding="utf-8"))
    assert len(truth["configurations"]) == 17
    assert result.dataset_rows["full_cell"] == 51
    assert result.dataset_rows["symmetric_cell"] >= 70
    assert (tmp_path / "demo" / "fds.png").stat().st_size > 1000
    assert len(result.summary_lines()) == 6
    results = pd.read_csv(tmp_path / "demo" / "results" / "results.csv")
    assert set(results["family"]) == {"mlr", "poly2"}
    assert set(results["target"]) == {"adhesion_strength", "tortuosity"}
    assert "adhesion_strength / product: best" in result.summary_lines()[4]
    # the demo's seed drives the splits and the explanations too, not only the design and the line
    for stage in ("results", "explanations"):
        assert json.loads((tmp_path / "demo" / stage / "run.json").read_text(encoding="utf-8"))["seed"] == 7
    assert truth["seed"] == 7


def test_demo_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["demo", "--out", str(tmp_path / "d"), "--quiet", "-f", "mlr", "-t", "tortuosity", "-j", "1"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "17 runs instead of 64" in out
    assert "Prepared tables" in out
    assert "best mlr by grouped CV" in out
    # the life cycle (on by default from the command line): publish, a production shift through the service with
    # the simulated dryer-thermocouple bias, monitoring, the dashboards' command and token
    reports = json.loads((tmp_path / "d" / "monitoring" / "report.json").read_text(encoding="utf-8"))
    assert len(reports) == 3  # the shift's rows after the reference, in windows of 30
    for report in reports:
        assert {"model", "window", "alarms", "tests"} <= set(report)
    assert not reports[0]["alarms"]  # the in-control window: no alarm (the family-wise rate is 5 %)
    drifted = [a for r in reports[1:] for a in r["alarms"] if a["input"] == "drying_temperature"]
    assert drifted, reports[1:]
    assert "Monitoring: alarm" in out
    assert "drying_temperature" in out
    assert "/ui/login with token gl_" in out
    assert (tmp_path / "d" / "monitoring" / "handover" / "handover.html").is_file()
