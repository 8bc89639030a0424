"""Where state lives: the MLflow store, the token table and the audit log under ``$GLASSLINE_HOME``.

``publish``, ``token create``, ``serve`` and ``audit verify`` run from the same folder find each other
with no flags: the workspace is ``--home DIR``, else ``$GLASSLINE_HOME``, else ``./.glassline``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from glassline.exceptions import StoreError

__all__ = [
    "LOCK_FILE",
    "LOCK_TIMEOUT_S",
    "artifact_root",
    "database_url",
    "tracking_uri",
    "workspace",
    "workspace_lock",
]

#: The lock file in the workspace that serialises its set-up and every registration (see :func:`workspace_lock`).
LOCK_FILE = "workspace.lock"
#: How long a command waits for another one holding the workspace lock before it gives up [s].
LOCK_TIMEOUT_S = 600.0


def workspace(home: str | Path | None = None) -> Path:
    """The workspace folder (created if missing)."""
    folder = Path(home) if home is not None else Path(os.environ.get("GLASSLINE_HOME", ".glassline"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def tracking_uri(home: str | Path | None = None, uri: str | None = None) -> str:
    """*uri* when given, else a sqlite MLflow store in the workspace."""
    if uri:
        return uri
    return f"sqlite:///{(workspace(home) / 'mlflow.db').resolve().as_posix()}"


def artifact_root(home: str | Path | None = None) -> str:
    return (workspace(home) / "artifacts").resolve().as_uri()


def database_url(home: str | Path | None = None, url: str | None = None) -> str:
    """*url* when given, else the workspace's sqlite database (tokens and audit log)."""
    if url:
        return url
    return f"sqlite:///{(workspace(home) / 'glassline.db').resolve().as_posix()}"


@contextmanager
def workspace_lock(home: str | Path | None = None, *, timeout: float = LOCK_TIMEOUT_S) -> Iterator[Path]:
    """Hold the workspace's file lock: one process at a time creates the MLflow and audit stores and registers.

    Concurrent first ``publish`` calls into a fresh workspace would otherwise each run MLflow's schema
    migrations on the same sqlite file, and all but one fail. The lock is an OS file lock (``filelock``),
    released when the process ends, so a killed holder does not block the next one. Yields the workspace.
    A StoreError names the lock file when it is held longer than *timeout* seconds.
    """
    folder = workspace(home)
    path = folder / LOCK_FILE
    lock = FileLock(str(path), timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        raise StoreError(
            f"{path}: the workspace is locked by another glassline command for more than {timeout:g} s; "
            "wait for it to finish"
        ) from None
    try:
        yield folder
    finally:
        lock.release()
