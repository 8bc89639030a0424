"""A small results folder fitted on synthetic data (fast), and a workspace to publish it into."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from serve_helpers import Running, free_port, start

from glassline import Study, study_from_dict
from glassline.models import compare
from glassline.registry import LoadedModel, load_model, publish
from glassline.serve import Fallback


def synthetic_study() -> Study:
    return study_from_dict(
        {
            "name": "synthetic serve",
            "seed": 7,
            "factors": [
                {"name": "x1", "low": 0.0, "high": 1.0, "unit": "mm"},
                {"name": "x2", "low": 0.0, "high": 1.0, "unit": "°C"},
                {"name": "x3", "low": 0.0, "high": 1.0},
            ],
            "responses": [{"name": "y", "label": "Signal", "unit": "kPa"}],
            "scenarios": {"factors": ["x1", "x2", "x3"]},
            "data": {"group": "configuration"},
            "split": {"test_fraction": 0.2, "cv_folds": 4, "cv_repeats": 1},
        }
    )


def synthetic_table(seed: int = 20231) -> pd.DataFrame:
    """17 configurations × 3 replicates of y = 3·x1 − 2·x2² + 1.5·x1·x3 + configuration effect + noise."""
    rng = np.random.default_rng(seed)
    settings = rng.uniform(0.0, 1.0, size=(17, 3))
    rows: list[dict[str, Any]] = []
    for c, (x1, x2, x3) in enumerate(settings):
        effect = rng.normal(0.0, 0.1)
        for _ in range(3):
            y = 3.0 * x1 - 2.0 * x2**2 + 1.5 * x1 * x3 + effect + rng.normal(0.0, 0.05)
            rows.append({"configuration": f"C{c:02d}", "x1": x1, "x2": x2, "x3": x3, "y": y})
    return pd.DataFrame(rows)


@pytest.fixture(scope="session")
def results_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("results")
    comparison = compare(
        synthetic_study(), synthetic_table(), families=["mlr", "svr", "rf", "xgb"], targets=["y"], n_jobs=2
    )
    comparison.write(folder, plots=False)
    return folder


@pytest.fixture(scope="session")
def study() -> Study:
    return synthetic_study()


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One workspace per session: creating an MLflow sqlite store costs seconds of migrations."""
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="session")
def published(results_dir: Path, study: Study, home: Path) -> dict[str, str]:
    """Registered models by family: xgb (alias prod), svr, mlr."""
    refs = {}
    for family in ("xgb", "svr", "mlr"):
        p = publish(
            results_dir, "y", "factors", family=family, name=f"y-{family}", study=study, home=home, alias="prod"
        )
        refs[family] = f"{p.name}/{p.version}"
    return refs


@pytest.fixture(scope="session")
def xgb_model(published: dict[str, str], home: Path) -> LoadedModel:
    return load_model("y-xgb@prod", home=home)


@pytest.fixture(scope="module")
def server(xgb_model: LoadedModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """The xgb model served with the 'flag' fallback."""
    yield from start(xgb_model, tmp_path_factory.mktemp("flag"), Fallback.flag)


@pytest.fixture(scope="module")
def refusing(xgb_model: LoadedModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """The xgb model served with the 'refuse' fallback."""
    yield from start(xgb_model, tmp_path_factory.mktemp("refuse"), Fallback.refuse, max_batch=5, max_body_bytes=4096)


# ------------------------------------------------------------------------------------------ PostgreSQL
def _initdb() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return found[-1] if found else None


def _install_postgresql() -> str:
    """On a fresh Debian/Ubuntu CI machine, as root: apt-get install postgresql. Returns why it failed, or ''."""
    if shutil.which("apt-get") is None:
        return "no /usr/lib/postgresql/*/bin/initdb and no apt-get to install Debian's postgresql"
    if os.geteuid() != 0:
        return "no /usr/lib/postgresql/*/bin/initdb, and not root, so 'apt-get install postgresql' cannot run"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "postgresql"]):
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900, check=False)
        if done.returncode != 0:
            return f"'{' '.join(command)}' failed: {done.stderr.strip()[-300:]}"
    return ""


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on a free loopback port (initdb + pg_ctl; as user 'postgres' when root)."""
    initdb = _initdb()
    if initdb is None:
        reason = _install_postgresql()
        initdb = _initdb()
        if initdb is None:
            pytest.skip(f"PostgreSQL cannot be started: {reason or 'initdb still missing after apt-get install'}")
    bin_dir = Path(initdb).parent
    folder = Path(tempfile.mkdtemp(prefix="glassline-pg-"))
    data = folder / "data"
    port = free_port()
    as_root = os.geteuid() == 0
    if as_root:
        shutil.chown(folder, "postgres", "postgres")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = " ".join(f"'{a}'" for a in args)
        full = ["su", "postgres", "-c", command] if as_root else ["sh", "-c", command]
        return subprocess.run(full, capture_output=True, text=True, timeout=120, check=False)

    done = run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
    if done.returncode != 0:
        pytest.skip(f"PostgreSQL cannot be started: initdb failed: {done.stderr.strip()[-300:]}")
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    done = run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start")
    if done.returncode != 0:
        pytest.skip(f"PostgreSQL cannot be started: pg_ctl start failed: {done.stderr.strip()[-300:]}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)
