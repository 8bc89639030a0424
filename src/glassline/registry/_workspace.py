"""Where state lives: the MLflow store, the token table and the audit log under ``$GLASSLINE_HOME``.

``publish``, ``token create``, ``serve`` and ``audit verify`` run from the same folder find each other
with no flags: the workspace is ``--home DIR``, else ``$GLASSLINE_HOME``, else ``./.glassline``.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["artifact_root", "database_url", "tracking_uri", "workspace"]


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
