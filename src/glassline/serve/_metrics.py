"""Prometheus text exposition of the service's counters, without a client library, plus an ASGI middleware
that counts requests, times them and limits request bodies."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["BodyLimitAndMetrics", "Metrics"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

Labels = tuple[tuple[str, str], ...]

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """Thread-safe counters, gauges and one latency histogram per route."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.latency: dict[str, list[int]] = defaultdict(lambda: [0] * (len(BUCKETS) + 1))
        self.latency_sum: dict[str, float] = defaultdict(float)
        self.counters: dict[tuple[str, Labels], float] = defaultdict(float)
        self.gauges: dict[tuple[str, Labels], float] = {}

    def observe(self, method: str, path: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(method, path, status)] += 1
            counts = self.latency[path]
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
            counts[-1] += 1
            self.latency_sum[path] += seconds

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        """Add *value* to counter *name* with *labels* (e.g. ``model="adhesion"``)."""
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            self.counters[key] += value

    def set(self, name: str, value: float, **labels: str) -> None:
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            self.gauges[key] = value

    def render(self) -> str:
        lines = [
            "# HELP glassline_http_requests_total HTTP requests by method, route and status.",
            "# TYPE glassline_http_requests_total counter",
        ]
        with self._lock:
            for (method, path, status), n in sorted(self.requests.items()):
                lines.append(f'glassline_http_requests_total{{method="{method}",path="{path}",status="{status}"}} {n}')
            lines += [
                "# HELP glassline_http_request_duration_seconds Request latency by route.",
                "# TYPE glassline_http_request_duration_seconds histogram",
            ]
            for path, counts in sorted(self.latency.items()):
                for bound, n in zip((*BUCKETS, "+Inf"), counts, strict=True):
                    lines.append(f'glassline_http_request_duration_seconds_bucket{{path="{path}",le="{bound}"}} {n}')
                lines.append(f'glassline_http_request_duration_seconds_sum{{path="{path}"}} {self.latency_sum[path]}')
                lines.append(f'glassline_http_request_duration_seconds_count{{path="{path}"}} {counts[-1]}')
            for kind, values in (("counter", self.counters), ("gauge", self.gauges)):
                typed: set[str] = set()
                for (name, labels), value in sorted(values.items()):
                    if name not in typed:
                        lines.append(f"# TYPE glassline_{name} {kind}")
                        typed.add(name)
                    text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
                    lines.append(f"glassline_{name}{{{text}}} {value:g}" if text else f"glassline_{name} {value:g}")
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    """A label value in the text exposition format (backslash, quote and newline escaped)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class BodyLimitAndMetrics:
    """Pure ASGI middleware: 413 for bodies over *max_bytes*, and request counts and latency per route."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, max_bytes: int, routes: frozenset[str]) -> None:
        self.app = app
        self.metrics = metrics
        self.max_bytes = max_bytes
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        path = scope["path"] if scope["path"] in self.routes else "other"
        status = 500
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await _reject(send, self.max_bytes)
            self.metrics.observe(scope["method"], path, 413, time.perf_counter() - start)
            return
        if length is None and scope["method"] in {"POST", "PUT", "PATCH"}:
            # no Content-Length (chunked): read the body here, up to the limit, and replay it
            chunks: list[bytes] = []
            size = 0
            more = True
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    break
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.max_bytes:
                    await _reject(send, self.max_bytes)
                    self.metrics.observe(scope["method"], path, 413, time.perf_counter() - start)
                    return
                chunks.append(chunk)
                more = bool(message.get("more_body", False))
            body = b"".join(chunks)
            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            receive = replay

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.observe(scope["method"], path, status, time.perf_counter() - start)


async def _reject(send: Send, limit: int) -> None:
    body = f'{{"detail":"request body too large: the limit is {limit} bytes"}}'.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
