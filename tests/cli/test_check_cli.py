"""``glassline check`` and the CLI's error contract (one red line, exit code, --debug)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from glassline.cli import main


def run(args: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(args)
    return int(info.value.code or 0)


def test_check_electrode_study(electrode_study_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["check", str(electrode_study_path)]) == 0
    out = capsys.readouterr().out
    assert "mass_loading" in out
    assert "8.2 – 11.2" in out
    assert "adhesion_strength" in out
    assert "3 factors" in out


def test_check_bad_file_is_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "x"\n[[factors]]\nname = "a"\nlow = 1\nhigh = 2\n[[responses]]\nname = "y"\n[scenarios]\ns = ["b"]\n',
        encoding="utf-8",
    )
    assert run(["check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "error:" in err
    assert "scenarios.s[0]" in err
    assert "Traceback" not in err


def test_debug_shows_traceback(tmp_path: Path) -> None:
    from glassline import SpecError

    with pytest.raises(SpecError):
        main(["--debug", "check", str(tmp_path / "missing.toml")])


def test_help_lists_commands() -> None:
    result = subprocess.run([sys.executable, "-m", "glassline", "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "check" in result.stdout


def test_unknown_command_exits_nonzero(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["no-such-command"]) == 2
