"""Monitoring fixtures: one small published model (linear, three inputs) and a fresh audit log per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from monitor_helpers import STUDY, training_table

from glassline.audit import AuditLog, connect
from glassline.models import compare
from glassline.registry import LoadedModel, load_model, publish
from glassline.spec import study_from_dict


@pytest.fixture(scope="session")
def monitor_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("monitor-home")


@pytest.fixture(scope="session")
def monitored(tmp_path_factory: pytest.TempPathFactory, monitor_home: Path) -> LoadedModel:
    study = study_from_dict(STUDY)
    folder = tmp_path_factory.mktemp("monitor-results")
    compare(study, training_table(), families=["mlr"], targets=["y"], n_jobs=1).write(folder, plots=False)
    home = monitor_home
    p = publish(folder, "y", "factors", family="mlr", name="line-y", study=study, home=home)
    return load_model(f"{p.name}/{p.version}", home=home)


@pytest.fixture
def log(tmp_path: Path) -> Iterator[AuditLog]:
    engine = connect(f"sqlite:///{tmp_path / 'audit.db'}")
    audit = AuditLog(engine)
    yield audit
    audit.close()
    engine.dispose()
