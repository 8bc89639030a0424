"""What the dashboard tests share besides fixtures: the served app's address, tokens, models and provider calls."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from glassline.serve import ServedModel, server_config


@dataclass
class Served:
    url: str
    db_url: str
    tokens: dict[str, str]
    models: dict[str, ServedModel]
    calls: list[tuple[str, dict[str, Any]]]

    def client(self, role: str = "admin") -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.tokens[role]}"}, timeout=30)


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """*app* over HTTP on 127.0.0.1 (uvicorn in a thread, as `glassline serve` runs it); its base URL."""
    server = uvicorn.Server(server_config(app, host="127.0.0.1", port=0, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the dashboard server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
