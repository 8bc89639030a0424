"""``glassline publish`` from the command line: the version on the last line, errors as one red line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from glassline.cli import main
from glassline.registry import load_model


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


def test_publish_errors_are_one_line(
    unknown_study_results: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["publish", str(unknown_study_results), "-t", "y", "-s", "factors", "--home", str(home)], capsys)
    assert code == 1
    assert "pass --study STUDY.toml" in err
    assert "Traceback" not in err
    code, _, err = run(["serve", "--model", "nope@x", "--home", str(home), "--fallback", "maybe"], capsys)
    assert code == 1
    assert "--fallback: expected one of ['refuse', 'flag', 'default']" in err
    code, _, err = run(["serve", "--model", "nope@x", "--home", str(home)], capsys)
    assert code == 1
    assert "model 'nope@x' not found" in err


def test_a_plain_table_study_publishes_without_study(
    toy_line: tuple[Path, Path], tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`glassline fit` keeps the study in the results folder: publish needs no --study, even after a move."""
    spec, table = toy_line
    fitted = tmp_path / "fitted" / "results"
    fit = ["fit", str(spec), "-d", str(table), "-o", str(fitted), "-j", "1", "--no-plots", "--quiet"]
    assert run(fit, capsys)[0] == 0
    publish = ["publish", "-t", "strength", "-s", "factors", "--name", "toy-strength", "--home", str(home)]
    code, out, err = run([*publish, str(fitted)], capsys)
    assert code == 0, err
    assert out.strip().splitlines()[-1].startswith("toy-strength/")
    original = spec.read_text(encoding="utf-8")
    moved = tmp_path / "moved" / "results"
    shutil.move(fitted, moved)
    spec.unlink()
    code, out, err = run([*publish, str(moved)], capsys)
    assert code == 0, err
    version = out.strip().splitlines()[-1]
    assert load_model(version, home=home).bundle.study_toml == original
    copy = moved / "study.toml"
    copy.write_text(original.replace("Peel strength", "Tensile strength"), encoding="utf-8")
    code, _, err = run([*publish, str(moved)], capsys)
    assert code == 1
    assert "the study changed since the results" in err
    assert "study.toml" in err
    assert "run.json" in err
    assert "Traceback" not in err


def test_publishing_is_recorded_in_the_audit_log_and_shown(
    results_dir: Path, study: object, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from glassline import Study
    from glassline.audit import AuditLog, connect, verify_chain
    from glassline.registry import database_url, publish

    assert isinstance(study, Study)
    published = publish(results_dir, "y", "factors", family="svr", name="audited", study=study, home=home, alias="qa")
    engine = connect(database_url(home))
    log = AuditLog(engine)
    record = log.tail(1, kind="model_published")[0]
    engine.dispose()
    assert record.actor.startswith("cli")
    assert record.payload["name"] == "audited"
    assert record.payload["version"] == published.version
    assert record.payload["alias"] == "qa"
    assert record.payload["family"] == "svr"
    assert record.payload["data_hash"].startswith("sha256:")
    assert verify_chain(AuditLog(connect(database_url(home)))).ok

    code, out, _ = run(["audit", "show", "--home", str(home), "--kind", "model_published", "--json"], capsys)
    assert code == 0
    shown = [json.loads(line) for line in out.strip().splitlines()]
    assert shown[-1]["seq"] == record.seq
    assert shown[-1]["payload"]["run_id"] == published.run_id
    assert all(r["kind"] == "model_published" for r in shown)
    code, out, _ = run(["audit", "show", "--home", str(home), "-n", "1"], capsys)
    assert code == 0
    assert "model_published" in out
    assert "audited" in out
    code, out, _ = run(["audit", "show", "--home", str(home), "--request", "no-such-request"], capsys)
    assert code == 0
    assert "no audit records for no-such-request" in out


def test_an_unreachable_audit_log_registers_nothing(
    results_dir: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from glassline.registry import RegistryError

    url = "postgresql+psycopg://nobody:secret@127.0.0.1:1/none?connect_timeout=2"
    code, _, err = run(
        ["publish", str(results_dir), "-t", "y", "-s", "factors", "--name", "never", "--home", str(home), "--db", url],
        capsys,
    )
    assert code == 1
    assert "cannot open the database" in err
    assert "secret" not in err
    with pytest.raises(RegistryError, match="not found"):
        load_model("never", home=home)


def test_publish_takes_the_distance_level(
    results_dir: Path, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(results_dir, tmp_path / "results")
    publish = ["publish", str(tmp_path / "results"), "-t", "y", "-s", "factors", "-f", "mlr", "--home", str(home)]
    code, _, err = run([*publish, "--name", "cli-level", "--distance-level", "1.5"], capsys)
    assert code == 1
    assert "distance level: expected a number between 0 and 1 (such as 0.05), got 1.5" in err
    assert "Traceback" not in err
    code, out, err = run([*publish, "--name", "cli-level", "--distance-level", "0.2"], capsys)
    assert code == 0, err
    check = load_model(out.strip().splitlines()[-1], home=home).bundle.domain.distance
    assert check.level == 0.2
    assert check.level_reached is not None
    assert check.level_reached <= 0.2
