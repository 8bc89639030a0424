"""The inference service: FastAPI routers over one typed prediction path, one or many models per process, with
explanations, intervals, validity-domain fallback, auth and an audit log (:mod:`glassline.audit`).

>>> from glassline.registry import load_model
>>> from glassline.serve import ServiceConfig, create_app
>>> models = [load_model("adhesion@prod"), load_model("ionic_resistance@prod")]  # doctest: +SKIP
>>> app = create_app(models, ServiceConfig("sqlite:///a.db"))                    # doctest: +SKIP
"""

from glassline.serve._app import ServiceConfig, create_app
from glassline.serve._counterfactual import CounterfactualPath, default_settable, served_space, served_surface
from glassline.serve._pipeline import Answer, PredictionPath, Refusal, RowResult
from glassline.serve._run import run_server, server_config, wait_until_ready
from glassline.serve._runtime import Explanation, ServedModel
from glassline.serve._schemas import Fallback

__all__ = [
    "Answer",
    "CounterfactualPath",
    "Explanation",
    "Fallback",
    "PredictionPath",
    "Refusal",
    "RowResult",
    "ServedModel",
    "ServiceConfig",
    "create_app",
    "default_settable",
    "run_server",
    "served_space",
    "served_surface",
    "server_config",
    "wait_until_ready",
]
