"""Concurrent first ``publish`` calls into a fresh workspace, and model names MLflow would refuse."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from glassline.cli import main
from glassline.exceptions import SpecError
from glassline.registry import check_alias, check_model_name, publish, tracking_uri, workspace_lock
from glassline.registry._publish import quiet_mlflow

STUDY_TOML = (
    'name = "synthetic serve"\nseed = 7\n[data]\ngroup = "configuration"\n'
    '[[factors]]\nname = "x1"\nunit = "mm"\nlow = 0.0\nhigh = 1.0\n'
    '[[factors]]\nname = "x2"\nunit = "°C"\nlow = 0.0\nhigh = 1.0\n'
    '[[factors]]\nname = "x3"\nlow = 0.0\nhigh = 1.0\n'
    '[[responses]]\nname = "y"\nlabel = "Signal"\nunit = "kPa"\n'
    "[scenarios]\nfactors = ['x1', 'x2', 'x3']\n"
)


def _runs(home: Path) -> list[tuple[str, str]]:
    """(run name, status) of every run in the workspace's MLflow store."""
    import mlflow

    with quiet_mlflow():
        client = mlflow.MlflowClient(tracking_uri=tracking_uri(home))
        experiments = [e.experiment_id for e in client.search_experiments()]
        return [(r.info.run_name, r.info.status) for r in client.search_runs(experiments)]


@pytest.fixture(scope="module")
def fresh_home(results_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh workspace that three processes publish into at once (their first publish each)."""
    home = tmp_path_factory.mktemp("fresh-home")
    study = home.parent / f"{home.name}-study.toml"
    study.write_text(STUDY_TOML, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    commands = [
        [
            sys.executable,
            "-m",
            "glassline",
            "publish",
            str(results_dir),
            "-t",
            "y",
            "-s",
            "factors",
            "-f",
            "mlr",
            "--name",
            f"race-{i}",
            "--study",
            str(study),
            "--home",
            str(home),
        ]
        for i in range(3)
    ]
    processes = [
        subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for c in commands
    ]
    outcomes = [(p.wait(timeout=900), *p.communicate()) for p in processes]
    for code, out, err in outcomes:
        assert code == 0, f"exit {code}: {err.strip() or out.strip()}"
    return home


@pytest.mark.slow
def test_three_concurrent_first_publishes_all_register(fresh_home: Path) -> None:
    runs = _runs(fresh_home)
    assert sorted(runs) == [(f"race-{i}", "FINISHED") for i in range(3)]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["..", ".", "../x", "a/b", "", " ", " y ", "a:b", "x" * 300, "..hidden"])
def test_a_bad_name_is_one_line_and_leaves_no_run(
    fresh_home: Path, results_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    study = tmp_path / "study.toml"
    study.write_text(STUDY_TOML, encoding="utf-8")
    before = _runs(fresh_home)
    args = ["publish", str(results_dir), "-t", "y", "-s", "factors", "-f", "mlr", "--name", name]
    with pytest.raises(SystemExit) as info:
        main([*args, "--study", str(study), "--home", str(fresh_home)])
    err = capsys.readouterr().err
    assert info.value.code == 1
    assert err.startswith("error: model name: expected")
    assert len(err.strip().splitlines()) == 1
    assert _runs(fresh_home) == before
    with pytest.raises(SpecError, match="model name"):
        publish(results_dir, "y", "factors", family="mlr", name=name, study=study, home=fresh_home)
    assert _runs(fresh_home) == before


@pytest.mark.slow
@pytest.mark.parametrize("alias", ["latest", "v2", "a b", "", "a/b"])
def test_a_bad_alias_registers_nothing(fresh_home: Path, results_dir: Path, tmp_path: Path, alias: str) -> None:
    study = tmp_path / "study.toml"
    study.write_text(STUDY_TOML, encoding="utf-8")
    before = _runs(fresh_home)
    with pytest.raises(SpecError, match="alias"):
        publish(results_dir, "y", "factors", family="mlr", name="ok-name", study=study, home=fresh_home, alias=alias)
    assert _runs(fresh_home) == before


def test_names_mlflow_accepts_pass() -> None:
    for name in ("y-factors", "adhesion_strength.v1", ".hidden", "a..b"):
        assert check_model_name(name) == name
    for alias in ("prod", "champion_2", "v2a"):
        assert check_alias(alias) == alias


def test_the_lock_is_held_by_one_process_at_a_time(tmp_path: Path) -> None:
    script = (
        "import sys\nfrom glassline.registry import workspace_lock\n"
        "from glassline.exceptions import StoreError\n"
        "try:\n    with workspace_lock(sys.argv[1], timeout=0.2):\n        print('got it')\n"
        "except StoreError as exc:\n    print(exc)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    with workspace_lock(tmp_path) as folder:
        assert folder == tmp_path
        held = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, env=env, timeout=120
        )
        assert "workspace.lock: the workspace is locked by another glassline command" in held.stdout
    free = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, env=env, timeout=120
    )
    assert free.stdout.strip() == "got it"
