"""``glassline publish`` from the command line: the version on the last line, errors as one red line."""

from __future__ import annotations

from pathlib import Path

import pytest

from glassline.cli import main


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(args)
    captured = capsys.readouterr()
    return int(exit_.value.code or 0), captured.out, captured.err


def test_publish_prints_the_model_version(
    results_dir: Path, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = tmp_path / "study.toml"
    study.write_text(
        'name = "synthetic serve"\nseed = 7\n[data]\ngroup = "configuration"\n'
        '[[factors]]\nname = "x1"\nunit = "mm"\nlow = 0.0\nhigh = 1.0\n'
        '[[factors]]\nname = "x2"\nunit = "°C"\nlow = 0.0\nhigh = 1.0\n'
        '[[factors]]\nname = "x3"\nlow = 0.0\nhigh = 1.0\n'
        '[[responses]]\nname = "y"\nlabel = "Signal"\nunit = "kPa"\n'
        "[scenarios]\nfactors = ['x1', 'x2', 'x3']\n",
        encoding="utf-8",
    )
    code, out, err = run(
        [
            "publish",
            str(results_dir),
            "-t",
            "y",
            "-s",
            "factors",
            "-f",
            "mlr",
            "--name",
            "cli-mlr",
            "--study",
            str(study),
            "--home",
            str(home),
        ],
        capsys,
    )
    assert code == 0, err
    assert out.strip().splitlines()[-1].startswith("cli-mlr/")


def test_publish_errors_are_one_line(results_dir: Path, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["publish", str(results_dir), "-t", "y", "-s", "factors", "--home", str(home)], capsys)
    assert code == 1
    assert "pass --study STUDY.toml" in err
    assert "Traceback" not in err
    code, _, err = run(["serve", "--model", "nope@x", "--home", str(home), "--fallback", "maybe"], capsys)
    assert code == 1
    assert "--fallback: expected one of ['refuse', 'flag', 'default']" in err
    code, _, err = run(["serve", "--model", "nope@x", "--home", str(home)], capsys)
    assert code == 1
    assert "model 'nope@x' not found" in err
