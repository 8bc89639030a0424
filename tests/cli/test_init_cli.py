"""``glassline init``: a study file drafted from a plain table, then ``glassline study`` on that table."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from glassline.cli import main
from glassline.data import draft_study, indicator_columns, parse_header


def _run(args: list[str]) -> None:
    """The command line in this process; a command that succeeds exits with code 0."""
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code in (0, None)


def _plant(path: Path, seed: int = 1) -> Path:
    """18 configurations × 2 replicates: units in three header styles, a categorical line, a batch label."""
    rng = np.random.default_rng(seed)
    rows = []
    config = 0
    for temperature in (60, 70, 80):
        for speed in (1.0, 2.0, 3.0):
            for line in ("A", "B"):
                config += 1
                for _ in range(2):
                    strength = 5 + 0.05 * (temperature - 70) + 0.8 * speed + (0.7 if line == "B" else 0.0)
                    rows.append(
                        {
                            "batch": f"K{config:02d}",
                            "temperature [°C]": temperature,
                            "speed_m_min": speed,
                            "feed rate (mm/s)": 2.0 + speed,  # a near-copy of the speed: left out
                            "pressure (bar)": 1 + config % 4,
                            "line": line,
                            "thickness (µm)": 50 + rng.normal(0, 2),
                            "comment": f"note {len(rows)}",
                            "strength [MPa]": strength + rng.normal(0, 0.1),
                        }
                    )
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("header", "name", "label", "unit"),
    [
        ("temperature [°C]", "temperature", "temperature", "°C"),
        ("temperature (°C)", "temperature", "temperature", "°C"),
        ("temperature_C", "temperature_C", "temperature", "°C"),
        ("speed_m_min", "speed_m_min", "speed", "m/min"),
        ("mass_loading_mg_cm2", "mass_loading_mg_cm2", "mass loading", "mg/cm²"),
        ("feed rate [mm/s]", "feed_rate", "feed rate", "mm/s"),
        ("Feed Rate", "Feed_Rate", "Feed Rate", ""),
        ("porosity", "porosity", "", ""),
        ("2nd pass", "x_2nd_pass", "2nd pass", ""),
    ],
)
def test_headers_give_names_labels_and_units(header: str, name: str, label: str, unit: str) -> None:
    parsed = parse_header(header)
    assert (parsed.name, parsed.label, parsed.unit) == (name, label, unit)


def test_indicator_columns_leave_out_the_reference_level() -> None:
    assert indicator_columns("line", ["A", "B", "C"]) == {"B": "line_is_B", "C": "line_is_C"}
    assert indicator_columns("tool", ["new", "re-ground", "re ground"]) == {
        "re-ground": "tool_is_re_ground",
        "re ground": "tool_is_re_ground_2",
    }


def test_the_draft_guesses_group_categorical_measured_and_units(tmp_path: Path) -> None:
    draft = draft_study(_plant(tmp_path / "plant.csv"), ["strength"])
    study = draft.study
    assert study.data.group == "batch"
    assert study.cleaning.outlier_alpha > 0  # replicates: the study's outlier rule stays on
    assert "'batch'" in draft.text
    assert "guessed" in draft.text
    factors = {f.name: f for f in study.factors}
    assert set(factors) == {"temperature", "speed_m_min", "feed_rate", "pressure", "line"}
    assert (factors["temperature"].unit, factors["temperature"].low, factors["temperature"].high) == ("°C", 60, 80)
    assert (factors["speed_m_min"].unit, factors["speed_m_min"].label) == ("m/min", "speed")
    assert (factors["feed_rate"].label, factors["feed_rate"].unit) == ("feed rate", "mm/s")
    assert factors["line"].kind == "categorical"
    assert factors["line"].levels == ["A", "B"]
    assert {m.name for m in study.measured} == {"thickness", "line_is_B"}
    assert study.response("strength").unit == "MPa"
    assert study.scenarios == {"all_inputs": ["temperature", "speed_m_min", "pressure", "thickness", "line_is_B"]}
    assert "feed_rate is a near-copy of speed_m_min (r = +1.000)" in draft.text
    assert "'comment': text with 36 different values" in draft.text  # left out, said so
    assert tomllib.loads(draft.text)["split"]["cv_repeats"] == 5


def test_no_group_column_is_said_so_and_replicates_without_a_label_are_named(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1, 1, 2, 2, 3, 3], "b": [5, 5, 6, 6, 5, 5], "y": [1.0, 1.1, 2.0, 2.1, 3.0, 3.2]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    draft = draft_study(tmp_path / "t.csv", ["y"])
    assert draft.study.data.group is None
    assert "repeat 3 combinations of the inputs, but no column labels them" in draft.text
    assert draft.study.cleaning.outlier_alpha == 0  # no replicates to judge a value against: the rule is off


def test_a_large_table_gets_one_repeat_and_no_svr(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.integers(0, 5, 20_000), "b": rng.integers(0, 4, 20_000)})
    frame["y"] = frame["a"] + rng.normal(0, 1, len(frame))
    frame.to_parquet(tmp_path / "big.parquet")
    study = draft_study(tmp_path / "big.parquet", ["y"]).study
    assert study.split.cv_repeats == 1
    assert "svr" not in study.models.families
    assert study.models.bootstrap == 20


@pytest.mark.slow
def test_init_then_study_writes_the_full_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    table = _plant(tmp_path / "plant.csv")
    monkeypatch.chdir(tmp_path)
    _run(["init", str(table), "--response", "strength [MPa]", "--out", "study.toml"])
    out = capsys.readouterr().out
    assert "group batch" in out
    assert "glassline study study.toml --data" in out
    _run(["check", "study.toml"])
    study_args = ["study", "study.toml", "--data", str(table), "--out", "out", "-f", "mlr", "-j", "1"]
    _run([*study_args, "--bootstrap", "5", "--quiet"])
    assert "ok" in capsys.readouterr().out
    dataset = pd.read_csv(tmp_path / "out" / "dataset" / "data.csv")
    # the header 'pressure (bar)' is read as pressure, the line's indicator derived
    assert {"pressure", "temperature", "line_is_B", "batch"} <= set(dataset.columns)
    assert (dataset["line_is_B"] == (dataset["line"] == "B")).all()
    results = pd.read_csv(tmp_path / "out" / "results" / "results.csv")
    assert set(results["family"]) == {"mlr"}
    assert results["cv_r2_pooled"].max() > 0.9  # the table's signal is strong and linear
    run = json.loads((tmp_path / "out" / "results" / "run.json").read_text(encoding="utf-8"))
    assert {s["regime"] for s in run["tuning_spaces"]} == {"small"}
    report = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "strength" in report
    assert "line_is_B" in report or "line = B" in report
