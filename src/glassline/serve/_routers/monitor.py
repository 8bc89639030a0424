"""``GET /v1/models/{name}/monitor``: the newest monitoring report of a served model, and the background thread
that evaluates every consecutive window of N predictions (never on the request path) and exports the alarms
to ``/metrics``."""

from __future__ import annotations

import threading
import time
from typing import Any

from fastapi import APIRouter

from glassline.audit import Role
from glassline.monitor import Monitor, WindowReport
from glassline.serve._errors import AUTH_CODES, error_responses
from glassline.serve._service import ApiError, Service

__all__ = ["MONITOR_POLL_SECONDS", "MonitorRunner", "monitor_router"]

#: How often the background thread looks for new predictions.
MONITOR_POLL_SECONDS = 1.0


class MonitorRunner:
    """One background thread that runs :class:`glassline.monitor.Monitor` for each served model: every *window*
    new predictions of a model, its next window is tested; alarms go to the audit log (``monitor_alarm``) and
    to the metrics (``glassline_monitor_alarm_active{model,kind,input}``)."""

    def __init__(
        self, service: Service, window: int = 30, poll: float = MONITOR_POLL_SECONDS, *, enabled: bool = True
    ) -> None:
        self.service = service
        self.enabled = enabled
        self.window = window
        self.poll = poll
        self.monitors: dict[str, Monitor] = {}
        self.latest: dict[str, WindowReport] = {}
        self.errors: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="monitor", daemon=True)

    def start(self) -> None:
        if self.enabled:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            for name in list(self.service.models):
                if self._stop.is_set():
                    return
                self.evaluate(name)
            self._stop.wait(self.poll)

    def evaluate(self, name: str) -> None:
        """Test the windows of *name* completed since the last call (errors are kept, never raised)."""
        metrics = self.service.metrics
        try:
            monitor = self.monitors.get(name)
            if monitor is None:
                served = self.service.models[name]
                monitor = self.monitors[name] = Monitor(self.service.audit, served.loaded)
            before = set(monitor.active)
            start = time.perf_counter()
            reports = monitor.step(self.window)
            if not reports:
                return
            metrics.set("monitor_check_seconds", (time.perf_counter() - start) / len(reports), model=name)
            after = set(monitor.active)
            for kind, input_name in before | after:
                metrics.set(
                    "monitor_alarm_active",
                    float((kind, input_name) in after),
                    model=name,
                    kind=kind,
                    input=input_name or "",
                )
            for kind, input_name in after - before:
                metrics.inc("monitor_alarms_total", model=name, kind=kind, input=input_name or "")
            metrics.set("monitor_window_last_seq", float(reports[-1].last_seq), model=name)
            metrics.inc("monitor_windows_total", float(len(reports)), model=name)
            with self._lock:
                self.latest[name] = reports[-1]
                self.errors.pop(name, None)
        except Exception as exc:  # the service keeps answering; the route says why monitoring has no report
            metrics.inc("monitor_failures_total", model=name)
            with self._lock:
                self.errors[name] = f"{type(exc).__name__}: {exc}"

    def latest_report(self, name: str) -> dict[str, Any] | None:
        """The newest window report of *name* as its JSON object, None before the first window."""
        with self._lock:
            found = self.latest.get(name)
        return None if found is None else found.to_dict()

    def report(self, name: str) -> dict[str, Any]:
        with self._lock:
            found = self.latest.get(name)
            error = self.errors.get(name)
        if found is not None:
            return found.to_dict()
        why = (
            f"monitoring failed: {error}"
            if error
            else (f"no window evaluated yet: the monitor tests every {self.window} predictions after the reference")
        )
        raise ApiError(404, f"model {name!r}: {why}")


def monitor_router(service: Service, runner: MonitorRunner) -> APIRouter:
    router = APIRouter(tags=["monitoring"])

    @router.get(
        "/v1/models/{name}/monitor",
        summary="The newest monitoring report: window, alarms with root cause and runbook, every test",
        responses=error_responses(*AUTH_CODES, 404),
    )
    async def monitor_report(name: str, _actor: str = service.require(Role.operator)) -> dict[str, Any]:
        service.model(name)  # 404 naming the served models
        return runner.report(name)

    return router
