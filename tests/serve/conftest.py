"""Serving fixtures: models published from the synthetic results folder (tests/conftest.py), running servers."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_helpers import Running, free_port, start

from glassline import Study
from glassline.registry import LoadedModel, load_model, publish
from glassline.serve import Fallback


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
