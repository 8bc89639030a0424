"""Bad tables and options for ``glassline init TABLE --response NAME --out study.toml``.

Each case asserts exit code 1 and one line naming the table (or the option / output file) and what was wrong.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus_cli import Case, params, run_case

GOOD = "batch,temperature [°C],speed_m_min,line,strength [MPa]\n" + "".join(
    f"K{i},{60 + 10 * (i % 3)},{1 + i % 2},{'AB'[i % 2]},{5 + i * 0.1 + r * 0.01}\n" for i in range(8) for r in range(2)
)


def init(case_id: str, content: str | bytes, *expect: str, options: tuple[str, ...] = ("-r", "strength")) -> Case:
    argv = ["init", "{tmp}/t.csv", *options, "--out", "{tmp}/study.toml"]
    return Case(case_id, argv, expect, {"t.csv": content})


CASES = [
    init(
        "init-missing-response",
        GOOD,
        "{tmp}/t.csv",
        "response 'strenght'",
        "no such column",
        options=("-r", "strenght"),
    ),
    init(
        "init-text-response",
        "a,b,y\n1,2,3\n2,3,high\n3,1,4\n",
        "{tmp}/t.csv",
        "row 3",
        "column 'y'",
        "must be numeric",
        "'high'",
        options=("-r", "y"),
    ),
    init("init-header-only", "a,b,y\n", "{tmp}/t.csv", "no data rows", options=("-r", "y")),
    init("init-one-row", "a,b,y\n1,2,3\n", "{tmp}/t.csv", "1 data row", "at least 2", options=("-r", "y")),
    init("init-empty-file", "", "{tmp}/t.csv", options=("-r", "y")),
    init(
        "init-response-empty",
        "a,b,y\n1,2,\n2,3,\n3,1,5\n",
        "{tmp}/t.csv",
        "column 'y'",
        "1 numeric value",
        options=("-r", "y"),
    ),
    init("init-response-twice", GOOD, "{tmp}/t.csv", "given twice", options=("-r", "strength", "-r", "strength [MPa]")),
    init(
        "init-unknown-group",
        GOOD,
        "{tmp}/t.csv",
        "--group 'bach'",
        "no such column",
        options=("-r", "strength", "--group", "bach"),
    ),
    init(
        "init-group-is-response",
        GOOD,
        "{tmp}/t.csv",
        "is a response",
        options=("-r", "strength", "--group", "strength"),
    ),
    init(
        "init-text-order",
        GOOD,
        "{tmp}/t.csv",
        "column 'line' (--order)",
        "run order as a number",
        options=("-r", "strength", "--order", "line"),
    ),
    init(
        "init-group-not-a-name",
        GOOD.replace("batch,", "batch id,"),
        "{tmp}/t.csv",
        "column 'batch id' (--group)",
        "'batch_id'",
        options=("-r", "strength", "--group", "batch id"),
    ),
    init("init-no-inputs", "id,y\nA,1\nB,2\nC,3\n", "{tmp}/t.csv", "no column can be an input", options=("-r", "y")),
    init("init-constant-inputs", "a,y\n1,1\n1,2\n1,3\n", "{tmp}/t.csv", "'a': constant", options=("-r", "y")),
    Case(
        "init-study-file-exists",
        ["init", "{tmp}/t.csv", "-r", "strength", "--out", "{tmp}/study.toml"],
        ["{tmp}/study.toml", "exists", "--force"],
        {"t.csv": GOOD, "study.toml": "name = 'x'\n"},
    ),
    Case(
        "init-out-not-toml",
        ["init", "{tmp}/t.csv", "-r", "strength", "--out", "{tmp}/study.txt"],
        ["{tmp}/study.txt", ".toml"],
        {"t.csv": GOOD},
    ),
    Case("init-no-table", ["init", "{tmp}/none.csv", "-r", "y", "--out", "{tmp}/s.toml"], ["{tmp}/none.csv"]),
]


@pytest.mark.parametrize("bad", params(CASES))
def test_a_bad_table_for_init_is_one_located_error(
    bad: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_case(bad, tmp_path, capsys)
    assert not (tmp_path / "study.toml").exists() or bad.id == "init-study-file-exists"
