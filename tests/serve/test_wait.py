"""wait_until_ready: returns when the service answers, says why when it never will."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from serve_helpers import free_port, serving

from glassline.registry import LoadedModel
from glassline.serve import ServiceConfig, wait_until_ready


def test_returns_once_the_service_answers(xgb_model: LoadedModel, tmp_path: Path) -> None:
    with serving(xgb_model, ServiceConfig(db_url=f"sqlite:///{tmp_path}/w.db")) as url:
        wait_until_ready(url, timeout=5)
        wait_until_ready(url, path="/readyz", timeout=5)


def test_a_server_that_exits_is_reported_at_once() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stderr.write('no such model'); sys.exit(3)"], stderr=subprocess.PIPE
    )
    with pytest.raises(RuntimeError, match=r"exited with code 3 .*no such model"):
        wait_until_ready(f"http://127.0.0.1:{free_port()}", timeout=30, process=process)
    assert process.stderr is not None
    process.stderr.close()


def test_nothing_listening_times_out() -> None:
    with pytest.raises(RuntimeError, match=r"did not answer 200 within 0.3 s"):
        wait_until_ready(f"http://127.0.0.1:{free_port()}", timeout=0.3)
