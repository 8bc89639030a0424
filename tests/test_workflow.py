"""``glassline study``: one command from data to report, for a plain table (no domain)."""

from __future__ import annotations

from pathlib import Path

import pytest

from glassline.cli import main
from glassline.exceptions import DataError
from glassline.workflow import run_study

pytestmark = pytest.mark.slow


def test_study_from_one_table(tmp_path: Path, toy_line: tuple[Path, Path]) -> None:
    spec, table = toy_line
    run = run_study(spec, table, tmp_path / "out", n_jobs=1)
    for path in (
        run.dataset / "metadata.json",
        run.results / "results.csv",
        run.report,
        tmp_path / "out" / "study.toml",
    ):
        assert path.exists(), path
    assert run.explanations.is_dir()
    assert any(run.explanations.iterdir())
    assert set(run.seconds) == {"prepare", "fit", "explain", "report"}
    text = run.report.read_text(encoding="utf-8")
    assert "Peel strength" in text


def test_study_cli_and_bad_data(
    tmp_path: Path, toy_line: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    spec, table = toy_line
    with pytest.raises(SystemExit) as info:
        main(["study", str(spec), "--data", str(table), "--out", str(tmp_path / "cli"), "--quiet", "-j", "1"])
    assert info.value.code == 0
    assert "report" in capsys.readouterr().out
    with pytest.raises(DataError, match="no such file or folder"):
        run_study(spec, tmp_path / "missing.csv", tmp_path / "x")
    (tmp_path / "notes.json").write_text("{}", encoding="utf-8")
    with pytest.raises(DataError, match="expected a table file"):
        run_study(spec, tmp_path / "notes.json", tmp_path / "x")
