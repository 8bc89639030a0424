"""Helpers for the service tests: a free loopback port, tokens, uvicorn in a thread, `glassline serve` as a process."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from glassline.audit import Role, TokenStore, connect
from glassline.registry import LoadedModel
from glassline.serve import Fallback, ServiceConfig, create_app, server_config, wait_until_ready


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Running:
    url: str
    db_url: str
    tokens: dict[str, str]
    model: LoadedModel

    def client(self, role: str | None = "operator", token: str | None = None) -> httpx.Client:
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        elif role is not None:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def make_tokens(db_url: str) -> dict[str, str]:
    engine = connect(db_url)
    store = TokenStore(engine)
    tokens = {role.value: store.create(role, f"test {role.value}") for role in Role}
    engine.dispose()
    return tokens


@contextmanager
def serving(model: LoadedModel | Sequence[LoadedModel], config: ServiceConfig) -> Iterator[str]:
    """Run the app (one model or several) with uvicorn in a thread on a free loopback port; yields the base URL."""
    with serving_app(create_app(model, config)) as url:
        yield url


@contextmanager
def serving_app(app: FastAPI) -> Iterator[str]:
    """Run *app* as `glassline serve` runs it (:func:`glassline.serve.server_config`) in a thread on a free
    loopback port; yields the base URL."""
    port = free_port()
    server = uvicorn.Server(server_config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def start(model: LoadedModel, tmp: Path, fallback: Fallback = Fallback.flag, **options: Any) -> Iterator[Running]:
    db_url = f"sqlite:///{(tmp / 'glassline.db').as_posix()}"
    tokens = make_tokens(db_url)
    with serving(model, ServiceConfig(db_url=db_url, fallback=fallback, **options)) as url:
        yield Running(url, db_url, tokens, model)


@contextmanager
def server_process(
    model: str | Sequence[str], home: Path, port: int, *, fallback: str = "flag", db_url: str | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """`glassline serve` (``--model`` once per model) in a child process on 127.0.0.1:*port*, once /healthz
    answers; terminated on exit."""
    with server_processes(model, home, [port], fallback=fallback, db_url=db_url) as (process,):
        yield process


@contextmanager
def server_processes(
    model: str | Sequence[str], home: Path, ports: Sequence[int], *, fallback: str = "flag", db_url: str | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], ...]]:
    """One `glassline serve` per port, all started at once (they load their models side by side), yielded once
    each answers /healthz; terminated on exit."""
    models = [model] if isinstance(model, str) else list(model)
    command = [sys.executable, "-m", "glassline", "serve", *(a for m in models for a in ("--model", m))]
    command += ["--home", str(home), "--fallback", fallback, *(["--db", db_url] if db_url else [])]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for port in ports:
            processes.append(
                subprocess.Popen([*command, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            )
        for port, process in zip(ports, processes, strict=True):
            wait_until_ready(f"http://127.0.0.1:{port}", process=process, timeout=180)
        yield tuple(processes)
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(20)
            if process.stderr:
                process.stderr.close()
