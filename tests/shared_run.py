"""One folder per test session that every xdist worker shares: the expensive end-to-end runs, built once."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock


def shared_run(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]) -> Path:
    """The folder *build* fills, built once per test session rather than once per xdist worker.

    The first worker that asks builds it under a file lock in the folder all workers of this session share;
    the others wait for it and get the finished folder. Tests must only read it. A build that fails leaves
    no completion mark, so the next worker that asks builds it again (and fails with its own traceback).
    """
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    out = root / name
    done = root / f"{name}.done"
    with FileLock(str(root / f"{name}.lock")):
        if not done.exists():
            if out.exists():
                shutil.rmtree(out)
            out.mkdir(parents=True)
            build(out)
            done.touch()
    return out
