"""Shared fixtures: a seeded random generator and the shipped electrode study."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import settings

from glassline import Study, study_from_dict

# Output the tests read must not depend on the terminal the suite runs in: rich (and typer's help) take
# their width from COLUMNS, so every test, and every CLI a test starts, sees the same wide terminal.
os.environ["COLUMNS"] = "200"

# Tests check correctness, not time: hypothesis's per-example deadline (200 ms) fails a correct property
# when the machine is busy (two xdist workers and a server on two cores), so no property has one.
settings.register_profile("glassline", deadline=None)
settings.load_profile("glassline")


ELECTRODE_STUDY = Path(str(files("glassline.domains.electrode").joinpath("study.toml")))


@pytest.fixture
def rng() -> np.random.Generator:
    """A generator seeded per test, so tests are repeatable and independent."""
    return np.random.default_rng(20231)


@pytest.fixture(scope="session")
def electrode_study_path() -> Path:
    return ELECTRODE_STUDY


# ---------------------------------------------------------------- a small synthetic study, fitted once
# (used by the registry and serve tests: publishing and serving need a results folder)
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
    from glassline.models import compare, family_names

    folder = tmp_path_factory.mktemp("results")
    # every registered family but the polynomial (the serve tests publish one model per family)
    families = [name for name in family_names() if name != "poly2"]
    comparison = compare(synthetic_study(), synthetic_table(), families=families, targets=["y"], n_jobs=2)
    comparison.write(folder, plots=False)
    return folder


@pytest.fixture(scope="session")
def study() -> Study:
    return synthetic_study()


@pytest.fixture(scope="session")
def synthetic_rows() -> pd.DataFrame:
    """The table of the synthetic study (:func:`synthetic_table`)."""
    return synthetic_table()


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One workspace per session: creating an MLflow sqlite store costs seconds of migrations."""
    return tmp_path_factory.mktemp("home")


# ---------------------------------------------------------------- a plain-table line with no domain
TOY_STUDY: dict[str, Any] = {
    "name": "toy coating line",
    "seed": 3,
    "factors": [
        {"name": "speed", "label": "Line speed", "unit": "m/min", "low": 1, "high": 3},
        {"name": "temp", "label": "Dryer temperature", "unit": "°C", "low": 40, "high": 80},
    ],
    "responses": [{"name": "strength", "label": "Peel strength", "unit": "kPa", "expect": {"speed": "decreasing"}}],
    "data": {"group": "configuration"},
    "split": {"cv_folds": 3, "cv_repeats": 2},
    "models": {"families": ["mlr", "poly2"]},
}


@pytest.fixture
def toy_line(tmp_path: Path) -> tuple[Path, Path]:
    """A study file and one measurement table (9 configurations × 3 replicates) of a domain-free line."""
    from glassline.spec import write_study

    rng = np.random.default_rng(0)
    configs = pd.DataFrame(
        {
            "configuration": [f"C{i}" for i in range(9)],
            "speed": np.repeat([1.0, 2.0, 3.0], 3),
            "temp": np.tile([40.0, 60.0, 80.0], 3),
        }
    )
    rows = configs.loc[configs.index.repeat(3)].reset_index(drop=True)
    rows["strength"] = 300 - 40 * rows["speed"] + 0.5 * rows["temp"] + rng.normal(0, 2, len(rows))
    table = tmp_path / "measurements.csv"
    rows.to_csv(table, index=False)
    return write_study(study_from_dict(TOY_STUDY), tmp_path / "toy_study.toml"), table


# ---------------------------------------------------------------- PostgreSQL (audit and service tests)
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    port = _free_port()
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
