"""Registry fixtures: a results folder that does not say which study it was fitted from."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest


@pytest.fixture
def unknown_study_results(results_dir: Path, tmp_path: Path) -> Path:
    """The synthetic results folder without its study copy and without run.json's record of the study file."""
    folder = tmp_path / "results"
    shutil.copytree(results_dir, folder)
    (folder / "study.toml").unlink()
    run_file = folder / "run.json"
    run = json.loads(run_file.read_text(encoding="utf-8"))
    run.pop("study_file")
    run.pop("study_sha256")
    run_file.write_text(json.dumps(run), encoding="utf-8")
    return folder
