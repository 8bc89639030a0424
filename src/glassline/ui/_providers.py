"""What the dashboards ask of monitoring and of the what-if optimiser, typed, so that either can be absent.

The service wires the real providers (monitoring's newest window report, the counterfactual route's answer);
where one is absent (None) the pages say plainly that the feature is not enabled, and show no figure of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["CounterfactualProvider", "HandoverProvider", "MonitorProvider", "Providers"]

#: ``monitor_report(model_name)``: the newest window report of monitoring as its JSON object
#: (``{"model", "window": {"first_seq", "last_seq", "n"}, "alarms": [...], "tests": [...]}``; an optional
#: ``"retraining": {"retrain", "why", "since"}``), or None when the model has no window yet.
MonitorProvider = Callable[[str], "dict[str, Any] | None"]

#: ``counterfactual(model_name, request, actor)``: the answer of ``POST /v1/models/{name}/counterfactual`` for
#: ``{"row", "require": {"min", "max"}, "settable", "weights", "interval"}``: ``{"feasible", "row", "changes":
#: {name: {"from", "to", "unit"}}, "prediction", "interval", "distance", "n_changed", "certificate",
#: "request_id"}`` (audited by the provider like a prediction, under that request id, naming *actor*: the
#: signed-in session's ``role:token-prefix…``).
CounterfactualProvider = Callable[[str, "dict[str, Any]", str], "dict[str, Any]"]

#: ``handover(model_name)``: the handover pack for the person who monitors the model, as Markdown, or None.
HandoverProvider = Callable[[str], "str | None"]


@dataclass(frozen=True)
class Providers:
    """The optional features the dashboards show: each None when the service does not have it."""

    monitor_report: MonitorProvider | None = None
    counterfactual: CounterfactualProvider | None = None
    handover: HandoverProvider | None = None
