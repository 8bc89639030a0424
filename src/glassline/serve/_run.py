"""Run the service with uvicorn (:func:`server_config`: the HTTP protocol with a deadline for request headers)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from glassline.audit import Role
from glassline.registry import database_url, load_model
from glassline.serve._app import ServiceConfig, create_app
from glassline.serve._protocol import HEADER_SECONDS, HeaderDeadlineProtocol
from glassline.serve._schemas import Fallback

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI

__all__ = ["run_server", "server_config", "wait_until_ready"]


def server_config(
    app: FastAPI,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "warning",
    header_seconds: float = HEADER_SECONDS,
) -> uvicorn.Config:
    """How `glassline serve` runs *app* with uvicorn: no access log, and a connection whose request headers are
    not complete within *header_seconds* is closed (:class:`~glassline.serve._protocol.HeaderDeadlineProtocol`)."""
    import uvicorn

    class Protocol(HeaderDeadlineProtocol):
        pass

    Protocol.header_seconds = header_seconds
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False, http=Protocol)


def run_server(
    model: str | Sequence[str],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    home: str | Path | None = None,
    tracking: str | None = None,
    db: str | None = None,
    fallback: Fallback = Fallback.refuse,
    anonymous_role: Role | None = None,
    max_batch: int = 1000,
    log_level: str = "warning",
    monitor_window: int | None = 30,
    configure: Callable[[FastAPI], object] | None = None,
) -> None:
    """Load each *model* (NAME, NAME@ALIAS or NAME/VERSION; one or several) and serve them until interrupted;
    *monitor_window*: test each model's next window every this many predictions in the background (None: off);
    *configure* is called with the app before it serves (the CLI mounts the dashboards, :mod:`glassline.ui`)."""
    import uvicorn

    refs = [model] if isinstance(model, str) else list(model)
    loaded = [load_model(ref, tracking=tracking, home=home) for ref in refs]
    config = ServiceConfig(
        db_url=database_url(home, db), fallback=fallback, anonymous_role=anonymous_role, max_batch=max_batch
    )
    app = create_app(loaded, config, monitor_window=monitor_window)
    if configure is not None:
        configure(app)
    uvicorn.Server(server_config(app, host=host, port=port, log_level=log_level)).run()


def wait_until_ready(
    url: str, *, path: str = "/healthz", timeout: float = 60.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Return once ``GET url + path`` answers 200; :class:`RuntimeError` after *timeout* seconds, or as soon
    as *process* (the server, when started as a child process) has exited."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url + path, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process is not None and process.poll() is not None:
            stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise RuntimeError(f"the server exited with code {process.returncode} before {url} was ready: {stderr}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url}{path} did not answer 200 within {timeout:g} s")
        time.sleep(0.1)
