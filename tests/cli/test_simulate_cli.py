"""``glassline simulate``: default design, options, the summary and one red line on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from glassline.cli import main


def run(args: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(args)
    return int(info.value.code or 0)


def test_simulate_the_shipped_design(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "raw"
    assert run(["simulate", "--out", str(out), "--seed", "5", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "17 configurations on 13 coating segments (seed 5)" in printed
    assert (out / "inline_log.csv").exists()
    assert (out / "eis" / "index.csv").exists()
    assert json.loads((out / "truth.json").read_text(encoding="utf-8"))["seed"] == 5


def test_simulate_a_design_with_drift_and_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    design = tmp_path / "design.csv"
    design.write_text(
        "mass_loading,drying_temperature,porosity\n8.2,50,25\n11.2,65,40\n9.7,57.5,32.5\n", encoding="utf-8"
    )
    out = tmp_path / "raw"
    code = run(["simulate", "--design", str(design), "--out", str(out), "--drift", "dryer_sensor_bias:4@S02"])
    assert code == 0
    printed = capsys.readouterr().out
    for name in ("inline_log.csv", "samples.csv", "adhesion.csv", "eis/index.csv", "rate_tests.csv", "truth.json"):
        assert name in printed
    assert "3 configurations on 3 coating segments" in printed
    assert "drift dryer_sensor_bias:4" in printed
    drift = json.loads((out / "truth.json").read_text(encoding="utf-8"))["drift"]
    assert drift["kind"] == "dryer_sensor_bias"
    assert drift["start_segment"] == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--design", "{bad}"], "row 2, column 'porosity'"),
        (["--design", "{missing}"], "no such file"),
        (["--drift", "dryer:3"], "unknown kind 'dryer'"),
    ],
)
def test_bad_input_is_one_red_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("mass_loading,drying_temperature,porosity\n9,55,120\n", encoding="utf-8")
    args = [a.format(bad=bad, missing=tmp_path / "nope.csv") for a in args]
    assert run(["simulate", "--out", str(tmp_path / "raw"), *args]) == 1
    err = capsys.readouterr().err
    assert "error:" in err
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_help_says_the_design_defaults_to_the_paper_stand_in(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["simulate", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.replace("│", " ").split())  # help sits in a box: no borders
    assert "17-configuration stand-in" in text
    assert "KIND:MAGNITUDE[@SEGMENT]" in text
