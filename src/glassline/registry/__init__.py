"""MLflow-backed publishing with lineage: the pipeline as a registered model version, the glassline bundle beside it.

>>> from glassline.registry import publish, load_model
>>> published = publish("results/", "adhesion_strength", "product")   # doctest: +SKIP
>>> model = load_model(f"{published.name}/{published.version}")      # doctest: +SKIP
"""

from glassline.registry._batch import DEFAULT_CHUNK_ROWS, PREDICTION_COLUMNS, BatchPrediction, predict_batch
from glassline.registry._bundle import Bundle, data_hash
from glassline.registry._domain import (
    DISTANCE_LEVEL,
    DistanceCheck,
    DomainSummary,
    InputRange,
    ValidityDomain,
    Verdict,
    Violation,
)
from glassline.registry._publish import (
    LoadedModel,
    ModelRef,
    PublishedModel,
    RegistryError,
    check_alias,
    check_model_name,
    load_model,
    parse_model_ref,
    publish,
)
from glassline.registry._workspace import database_url, tracking_uri, workspace, workspace_lock

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "DISTANCE_LEVEL",
    "PREDICTION_COLUMNS",
    "BatchPrediction",
    "Bundle",
    "DistanceCheck",
    "DomainSummary",
    "InputRange",
    "LoadedModel",
    "ModelRef",
    "PublishedModel",
    "RegistryError",
    "ValidityDomain",
    "Verdict",
    "Violation",
    "check_alias",
    "check_model_name",
    "data_hash",
    "database_url",
    "load_model",
    "parse_model_ref",
    "predict_batch",
    "publish",
    "tracking_uri",
    "workspace",
    "workspace_lock",
]
