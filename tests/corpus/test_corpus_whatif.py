"""Bad input to ``glassline whatif`` and ``glassline window`` that needs no registered model: each is one line
naming the option or path, what was expected and what came (the cases with a model are in tests/optimize)."""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus_cli import Case, params, run_case

CASES = [
    Case(
        "whatif-row-not-json",
        ["whatif", "--model", "m", "--row", "porosity: 1", "--home", "{tmp}/home"],
        ["--row", "expected a JSON object"],
    ),
    Case(
        "whatif-row-a-list",
        ["whatif", "--model", "m", "--row", "[1, 2]", "--home", "{tmp}/home"],
        ["--row", "expected a JSON object", "list"],
    ),
    Case(
        "whatif-row-file-missing",
        ["whatif", "--model", "m", "--row", "@{tmp}/nope.json", "--home", "{tmp}/home"],
        ["nope.json"],
    ),
    Case(
        "window-not-a-folder",
        ["window", "{tmp}/afile", "--require", "y>=1"],
        ["afile", "not a folder"],
        files={"afile": "not a folder\n"},
    ),
    Case(
        "window-missing-folder",
        ["window", "{tmp}/missing", "--require", "y>=1"],
        ["missing", "not a folder"],
    ),
]


@pytest.mark.parametrize("bad", params(CASES))
def test_whatif_and_window_bad_input_is_one_line(bad: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_case(bad, tmp_path, capsys)
