"""``glassline design`` and ``glassline design-check``: exit codes, files written, JSON keys, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from issue_keys import ISSUE_KEYS

from glassline.cli import main


def run(args: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(args)
    return int(info.value.code or 0)


def test_electrode_design_end_to_end(
    electrode_study_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, report, plot = tmp_path / "design.csv", tmp_path / "design.json", tmp_path / "fds.svg"
    code = run(
        [
            "design",
            str(electrode_study_path),
            "--runs",
            "17",
            "--out",
            str(out),
            "--json",
            str(report),
            "--fds-plot",
            str(plot),
            "--quiet",
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "17 runs instead of 64 (4-level full factorial): N·I" in text
    assert "max VIF" in text
    assert "max |r|" in text
    payload = json.loads(report.read_text(encoding="utf-8"))
    assert set(payload) >= ISSUE_KEYS
    assert payload["runs"] == 17
    assert payload["terms"] == 10
    assert payload["i_criterion"] <= 0.3222
    assert payload["max_abs_correlation"] < 0.3
    assert payload["seed"] == 2023  # the study's seed
    sheet = pd.read_csv(out)
    assert len(sheet) == 17
    assert {"run", "configuration", "mass_loading", "drying_temperature", "porosity"} <= set(sheet.columns)
    assert plot.stat().st_size > 1000

    # the written run sheet can be checked and augmented
    checked = tmp_path / "check.json"
    assert run(["design-check", str(electrode_study_path), str(out), "--json", str(checked)]) == 0
    assert json.loads(checked.read_text(encoding="utf-8"))["i_criterion"] == pytest.approx(payload["i_criterion"])
    grown = tmp_path / "grown.xlsx"
    assert (
        run(
            ["design", str(electrode_study_path), "--runs", "20", "--augment", str(out), "--out", str(grown), "--quiet"]
        )
        == 0
    )
    grown_sheet = pd.read_excel(grown, sheet_name="runs")
    assert (grown_sheet["role"] == "fixed").sum() == 17
    assert (grown_sheet["role"] == "augment").sum() == 3
    assert (
        run(
            [
                "design",
                str(electrode_study_path),
                "--runs",
                "19",
                "--augment",
                str(out),
                "--by-variance",
                "--out",
                str(tmp_path / "fds_grown.csv"),
                "--quiet",
            ]
        )
        == 0
    )


def test_classical_kind_and_d_criterion(
    electrode_study_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run(
            [
                "design",
                str(electrode_study_path),
                "--kind",
                "box-behnken",
                "--out",
                str(tmp_path / "bbd.csv"),
                "--quiet",
            ]
        )
        == 0
    )
    assert "Box–Behnken" in capsys.readouterr().out
    assert len(pd.read_csv(tmp_path / "bbd.csv")) == 15
    assert (
        run(
            [
                "design",
                str(electrode_study_path),
                "--runs",
                "12",
                "--criterion",
                "d",
                "--model",
                "interactions",
                "--lack-of-fit",
                "2",
                "--replicates",
                "2",
                "--out",
                str(tmp_path / "d.csv"),
                "--json",
                str(tmp_path / "d.json"),
                "--quiet",
            ]
        )
        == 0
    )
    payload = json.loads((tmp_path / "d.json").read_text(encoding="utf-8"))
    assert payload["criterion"] == "d"
    assert payload["terms"] == 7
    assert payload["pure_error_df"] >= 2


def test_too_few_runs_is_one_clear_error(
    electrode_study_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["design", str(electrode_study_path), "--runs", "8", "--out", str(tmp_path / "x.csv")]) == 1
    err = capsys.readouterr().err
    assert "error:" in err
    assert "minimum is 10 runs" in err
    assert "Traceback" not in err
    assert not (tmp_path / "x.csv").exists()


def test_bad_augment_file_names_file_row_and_column(
    electrode_study_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "existing.csv"
    bad.write_text("mass_loading,drying_temperature,porosity\n9.7,57.5,32.5\n12.5,57.5,32.5\n", encoding="utf-8")
    code = run(
        ["design", str(electrode_study_path), "--runs", "17", "--augment", str(bad), "--out", str(tmp_path / "x.csv")]
    )
    assert code == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "existing.csv: row 3, column 'mass_loading': expected a value in 8.2 … 11.2 [mg/cm²], found 12.5" in err


def test_augment_needs_more_runs_than_it_has(
    electrode_study_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "existing.csv"
    existing.write_text("mass_loading,drying_temperature,porosity\n9.7,57.5,32.5\n", encoding="utf-8")
    assert (
        run(
            [
                "design",
                str(electrode_study_path),
                "--runs",
                "1",
                "--augment",
                str(existing),
                "--out",
                str(tmp_path / "x.csv"),
            ]
        )
        == 1
    )
    assert "--runs is the total number of runs" in capsys.readouterr().err


def test_design_check_rank_deficient_file(
    electrode_study_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    two_levels = tmp_path / "two_levels.csv"
    rows = [f"{m},{t},{p}" for m in (8.2, 11.2) for t in (50, 65) for p in (25, 40)]
    two_levels.write_text("mass_loading,drying_temperature,porosity\n" + "\n".join(rows * 2) + "\n", encoding="utf-8")
    assert run(["design-check", str(electrode_study_path), str(two_levels)]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "only 2 distinct value(s) (8.2, 11.2)" in err
    assert "mass_loading^2" in err
    assert run(["design-check", str(electrode_study_path), str(two_levels), "--model", "interactions"]) == 0
