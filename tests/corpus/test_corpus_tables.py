"""Bad tables for the data stages: ``glassline fit --data TABLE``, ``simulate --design``, ``prepare --raw``, options.

Each case asserts exit code 1 and a message naming the table, and where it can, the row and column.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest
from corpus_cli import Case, params, run_case

ELECTRODE = str(files("glassline.domains.electrode").joinpath("study.toml"))
TOY = """name = "toy coating line"
seed = 3
[[factors]]
name = "speed"
unit = "m/min"
low = 1
high = 3
[[factors]]
name = "temp"
unit = "°C"
low = 40
high = 80
[[responses]]
name = "strength"
unit = "kPa"
[data]
group = "configuration"
[split]
cv_folds = 3
cv_repeats = 1
[models]
families = ["mlr"]
"""
HEADER = "configuration,speed,temp,strength\n"
ROWS = [f"C{i},{1 + i % 3},{40 + 20 * (i // 3)},{200 + i + r}" for i in range(9) for r in range(2)]


def table(rows: list[str], header: str = HEADER) -> str:
    return header + "".join(row + "\n" for row in rows)


def replaced(index: int, row: str) -> str:
    """ROWS with row *index* (0-based data row; the file's row index + 2) replaced."""
    return table([row if i == index else r for i, r in enumerate(ROWS)])


def fit(case_id: str, content: str | bytes, *expect: str, options: tuple[str, ...] = (), name: str = "t.csv") -> Case:
    """``glassline fit toy.toml --data {tmp}/t.csv``; the message names the table unless the case is about options."""
    argv = ["fit", "{tmp}/toy.toml", "--data", "{tmp}/" + name, "--out", "{tmp}/res", "-q", "-j", "1", "--no-plots"]
    return Case(case_id, [*argv, *options], expect, {"toy.toml": TOY, name: content})


def simulate(case_id: str, design: str, *expect: str) -> Case:
    argv = ["simulate", "--design", "{tmp}/design.csv", "--out", "{tmp}/raw", "-q"]
    return Case(case_id, argv, ["{tmp}/design.csv", *expect], {"design.csv": design})


CASES = [
    fit(
        "table-missing-column",
        table([r.rsplit(",", 2)[0] + "," + r.rsplit(",", 1)[1] for r in ROWS], "configuration,speed,strength\n"),
        "{tmp}/t.csv",
        "missing column 'temp'",
    ),
    fit(
        "table-target-not-a-number",
        replaced(2, "C1,2,40,abc"),
        "{tmp}/t.csv: row 4, column 'strength'",
        "expected a number [kPa], found 'abc'",
    ),
    fit(
        "table-input-not-a-number",
        replaced(2, "C1,x,40,201"),
        "{tmp}/t.csv: row 4, column 'speed'",
        "expected a number [m/min], found 'x'",
    ),
    fit(
        "table-infinite-target",
        replaced(2, "C1,2,40,inf"),
        "row 4, column 'strength'",
        "expected a finite number [kPa], found inf",
    ),
    fit(
        "table-empty-group-cell",
        replaced(0, ",1,40,200"),
        "row 2, column 'configuration'",
        "expected a group label, found an empty cell",
    ),
    fit("table-header-only", HEADER, "{tmp}/t.csv: the table has no data rows"),
    fit("table-zero-bytes", "", "{tmp}/t.csv: could not be read as a csv table"),
    fit("table-not-utf8", b"\xff\xfe\x00", "{tmp}/t.csv: not a UTF-8 text file"),
    fit("table-unknown-format", table(ROWS), "unknown table format '.dat'", name="t.dat"),
    fit("table-too-few-rows", table(ROWS[:2]), "{tmp}/t.csv, target 'strength'", "needs at least 3 rows, found 2"),
    fit(
        "table-huge-input",
        replaced(4, "C2,1e308,40,203"),
        "{tmp}/t.csv: row 6, column 'speed'",
        "magnitude at most 1e+100, found 1e+308",
    ),
    fit(
        "table-repeated-column",
        table([r + ",2" for r in ROWS], header="configuration,speed,temp,strength,speed\n"),
        "{tmp}/t.csv: column 'speed' appears more than once in the header",
    ),
    Case(
        "table-missing",
        ["fit", "{tmp}/toy.toml", "--data", "{tmp}/none.csv", "--out", "{tmp}/res"],
        ["{tmp}/none.csv: no such data file or folder"],
        {"toy.toml": TOY},
    ),
    fit(
        "fit-unknown-target",
        table(ROWS),
        "targets: unknown name 'strenght'",
        "Did you mean 'strength'?",
        options=("--targets", "strenght"),
    ),
    fit(
        "fit-unknown-family",
        table(ROWS),
        "families: unknown name 'xgboost'",
        "Did you mean 'xgb'?",
        options=("--families", "xgboost"),
    ),
    fit(
        "fit-unknown-scenario",
        table(ROWS),
        "scenarios: unknown name 'nope'",
        "expected one of ['factors']",
        options=("--scenarios", "nope"),
    ),
    fit(
        "fit-zero-jobs",
        table(ROWS),
        "n_jobs: expected a positive number of worker processes",
        "got 0",
        options=("-j", "0"),
    ),
    fit(
        "fit-negative-seed",
        table(ROWS),
        "seed: expected an integer from 0 to 4294967295, got -1",
        options=("--seed", "-1"),
    ),
    simulate("simulate-design-missing-column", "mass_loading,drying_temperature\n9,55\n", "missing column 'porosity'"),
    simulate(
        "simulate-design-not-a-number",
        "mass_loading,drying_temperature,porosity\n9,55,abc\n",
        "row 2, column 'porosity'",
        "found 'abc'",
    ),
    simulate(
        "simulate-design-far-outside",
        "mass_loading,drying_temperature,porosity\n9,55,90\n",
        "row 2, column 'porosity'",
        "above the validated range 25–40 %",
    ),
    Case(
        "simulate-design-missing",
        ["simulate", "--design", "{tmp}/none.csv", "--out", "{tmp}/raw", "-q"],
        ["{tmp}/none.csv: no such file"],
    ),
    Case(
        "simulate-drift-unknown-kind",
        ["simulate", "--out", "{tmp}/raw", "-q", "--drift", "nope:5"],
        ["drift: unknown kind 'nope'", "dryer_sensor_bias"],
    ),
    Case(
        "simulate-drift-not-a-number",
        ["simulate", "--out", "{tmp}/raw", "-q", "--drift", "dryer_sensor_bias:abc"],
        ["drift:", "must be a number, got 'abc'"],
    ),
    Case(
        "simulate-drift-segment-beyond",
        ["simulate", "--out", "{tmp}/raw", "-q", "--drift", "material_lot:-0.15@S99"],
        ["drift: start_segment 99 is beyond the last", "13 segments"],
    ),
    Case(
        "simulate-unknown-domain",
        ["simulate", "--out", "{tmp}/raw", "-q", "--domain", "nopack"],
        ["no domain pack named 'nopack'", "installed: electrode"],
    ),
    Case(
        "simulate-negative-seed",
        ["simulate", "--out", "{tmp}/raw", "-q", "--seed", "-5"],
        ["--seed: expected an integer from 0 to 4294967295, got -5"],
    ),
    Case(
        "prepare-raw-missing",
        ["prepare", ELECTRODE, "--raw", "{tmp}/none", "--out", "{tmp}/p"],
        ["{tmp}/none: no such folder of raw data"],
    ),
    Case(
        "prepare-raw-empty",
        ["prepare", ELECTRODE, "--raw", "{tmp}/raw", "--out", "{tmp}/p"],
        ["{tmp}/raw: no table for the response level 'inline'", "expected inline.csv"],
        {"raw/notes.md": "x"},
    ),
]


@pytest.mark.parametrize("bad", params(CASES))
def test_a_bad_table_is_one_located_error(bad: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_case(bad, tmp_path, capsys)


def test_a_row_missing_an_input_is_left_out_with_its_row_and_column_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not an error (a gap in a measured table is common), but never silent: the note names row and column."""
    from glassline.cli import main

    (tmp_path / "toy.toml").write_text(TOY, encoding="utf-8")
    (tmp_path / "t.csv").write_text(replaced(4, "C2,NaN,40,203"), encoding="utf-8")
    argv = ["fit", str(tmp_path / "toy.toml"), "--data", str(tmp_path / "t.csv"), "--out", str(tmp_path / "res")]
    with pytest.raises(SystemExit) as info:
        main([*argv, "-j", "1", "--no-plots"])
    assert info.value.code == 0
    captured = capsys.readouterr()
    err = " ".join((captured.out + captured.err).split())
    assert "strength: 1 row lacks the target or an input in" in err
    assert "left out (row 6: 'speed' missing)" in err
