"""Publish a fitted pipeline to MLflow with the glassline bundle; load a model back by name.

MLflow is the registry (no home-made one): the pipeline is logged with the sklearn flavour (so it is a
pyfunc model with a signature and an input example, servable by ``mlflow models serve``), in
``cloudpickle`` format: MLflow 3.17's default ``skops`` format refuses tree models (random forest,
XGBoost) unless every type is listed in ``skops_trusted_types``. The bundle is logged as the run's
``glassline/`` artifact folder, and the lineage as tags of the model version.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.pipeline import Pipeline

from glassline.exceptions import DataError, RegistryError, SpecError, StoreError, did_you_mean
from glassline.models import load_fits, resolve_study
from glassline.registry._bundle import Bundle
from glassline.registry._domain import DISTANCE_LEVEL
from glassline.registry._workspace import artifact_root, database_url, tracking_uri, workspace_lock
from glassline.spec import Study

__all__ = [
    "LoadedModel",
    "ModelRef",
    "PublishedModel",
    "RegistryError",
    "check_alias",
    "check_model_name",
    "load_model",
    "parse_model_ref",
    "publish",
]

EXPERIMENT = "glassline"
BUNDLE_PATH = "glassline"


@contextmanager
def quiet_mlflow() -> Iterator[None]:
    """Silence the warnings MLflow raises from inside itself (we cannot fix them; tests treat warnings as errors)."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    loggers = {name: logging.getLogger(name) for name in ("mlflow", "mlflow.sklearn", "mlflow.store.db.utils")}
    levels = {name: logger.level for name, logger in loggers.items()}
    loggers["mlflow"].setLevel(logging.WARNING)
    loggers["mlflow.store.db.utils"].setLevel(logging.WARNING)
    # the cloudpickle notice: we chose cloudpickle on purpose (skops refuses tree models), see the module doc
    loggers["mlflow.sklearn"].setLevel(logging.ERROR)
    with warnings.catch_warnings():
        # mlflow's SQLAlchemy models use the `noload` strategy, deprecated in SQLAlchemy 2.1
        warnings.filterwarnings("ignore", message=r".*``noload`` loader strategy", category=DeprecationWarning)
        # mlflow's pydantic models and its own feature notices
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"mlflow(\..*)?")
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"mlflow(\..*)?")
        warnings.filterwarnings("ignore", category=UserWarning, module=r"mlflow(\..*)?")
        try:
            yield
        finally:
            for name, logger in loggers.items():
                logger.setLevel(levels[name])


@dataclass(frozen=True)
class PublishedModel:
    name: str
    version: str
    run_id: str
    tracking_uri: str

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


@dataclass(frozen=True)
class ModelRef:
    """``NAME``, ``NAME@ALIAS`` or ``NAME/VERSION``."""

    name: str
    alias: str | None = None
    version: str | None = None

    def __str__(self) -> str:
        if self.alias:
            return f"{self.name}@{self.alias}"
        return f"{self.name}/{self.version}" if self.version else self.name


_REF = re.compile(r"^(?P<name>[A-Za-z0-9_.\-]+)(?:@(?P<alias>[A-Za-z0-9_\-]+)|/(?P<version>[0-9]+))?$")


_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
_ALIAS = re.compile(r"[A-Za-z0-9_\-]+")
#: The longest registered model name the MLflow store keeps (its ``name`` column is 256 characters).
MAX_NAME_LENGTH = 256


def check_model_name(name: str) -> str:
    """*name* when MLflow can register it; else a SpecError saying what a model name may hold.

    Letters, digits, ``_``, ``-`` and ``.``, at most 256 characters, no surrounding spaces, and not a
    name that reads as a path (``.``, ``..``, ``..x``), which MLflow refuses only after a run exists.
    """
    rule = "letters, digits, '_', '-', '.'"
    if not name.strip():
        raise SpecError(f"model name: expected a name of {rule}, got an empty name")
    if not _NAME.fullmatch(name):
        raise SpecError(f"model name: expected only {rule} (no spaces or '/'), got {name!r}")
    if name == "." or name.startswith(".."):
        raise SpecError(f"model name: expected a name that does not read as a path ('.', '..'), got {name!r}")
    if len(name) > MAX_NAME_LENGTH:
        raise SpecError(f"model name: expected at most {MAX_NAME_LENGTH} characters, got {len(name)}")
    return name


def check_alias(alias: str) -> str:
    """*alias* when MLflow can set it: letters, digits, ``_``, ``-``; not ``latest`` nor ``v<digits>`` (reserved)."""
    if not _ALIAS.fullmatch(alias):
        raise SpecError(f"alias: expected only letters, digits, '_', '-', got {alias!r}")
    if alias.lower() == "latest" or re.fullmatch(r"[vV][0-9]+", alias):
        raise SpecError(f"alias: {alias!r} is reserved by MLflow ('latest' and v<number> name versions)")
    if len(alias) > MAX_NAME_LENGTH - 1:
        raise SpecError(f"alias: expected at most {MAX_NAME_LENGTH - 1} characters, got {len(alias)}")
    return alias


def parse_model_ref(text: str) -> ModelRef:
    match = _REF.match(text.strip())
    if not match:
        raise SpecError(
            f"model: expected NAME, NAME@ALIAS or NAME/VERSION (letters, digits, '_', '-', '.'), got {text!r}"
        )
    return ModelRef(match["name"], match["alias"], match["version"])


def publish(
    results_dir: str | Path,
    target: str,
    scenario: str,
    *,
    family: str | None = None,
    name: str | None = None,
    study: str | Path | Study | None = None,
    tracking: str | None = None,
    home: str | Path | None = None,
    alias: str | None = None,
    level: float = 0.9,
    db: str | None = None,
    actor: str | None = None,
    distance_level: float = DISTANCE_LEVEL,
) -> PublishedModel:
    """Register the fit (*target*, *scenario*, *family*; default: the best family) as an MLflow model version.

    The new version (and the alias it takes) is recorded as a ``model_published`` record in the audit
    log of the workspace (*db*, default: the workspace's sqlite), by *actor* (default: ``cli:<OS user>``);
    the log is opened before anything is registered, so an unreachable log registers nothing. *level*: the
    prediction interval's coverage; *distance_level*: α of the validity domain's distance check.
    """
    if name is not None:
        check_model_name(name)
    if alias is not None:
        check_alias(alias)
    from glassline.audit import AuditLog, connect

    # one process at a time sets the workspace up (MLflow migrations, audit tables) and registers
    with workspace_lock(home):
        engine = connect(database_url(home, db))
        try:
            published, record = _publish(
                results_dir,
                target,
                scenario,
                family=family,
                name=name,
                study=study,
                tracking=tracking,
                home=home,
                alias=alias,
                level=level,
                distance_level=distance_level,
            )
            try:
                AuditLog(engine).append("model_published", actor or default_actor(), record)
            except StoreError as exc:
                raise StoreError(f"{published.name} version {published.version} is registered, but {exc}") from None
        finally:
            engine.dispose()
    return published


def default_actor() -> str:
    """``cli:<OS user>``: who ran a command that writes to the audit log."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in a bare container
        return "cli"


def _publish(
    results_dir: str | Path,
    target: str,
    scenario: str,
    *,
    family: str | None,
    name: str | None,
    study: str | Path | Study | None,
    tracking: str | None,
    home: str | Path | None,
    alias: str | None,
    level: float,
    distance_level: float = DISTANCE_LEVEL,
) -> tuple[PublishedModel, dict[str, Any]]:
    """Register the model version; returns it and what the audit record says of it."""
    import mlflow
    from mlflow.models import infer_signature

    folder = Path(results_dir)
    fits = load_fits(folder)
    try:
        fit = fits[(target, scenario, family)] if family else fits.best(target, scenario)
    except KeyError as exc:
        raise DataError(f"{folder}: {exc.args[0]}") from None
    source = resolve_study(folder, study)
    study_obj, study_toml = source.study, source.text
    row = fits.results[
        (fits.results["target"] == fit.target)
        & (fits.results["scenario"] == fit.scenario)
        & (fits.results["family"] == fit.family)
    ]
    metrics = {str(k): (v.item() if hasattr(v, "item") else v) for k, v in row.iloc[0].to_dict().items()}
    bundle = Bundle.from_fit(
        fit,
        study_obj,
        results_dir=folder,
        metrics=metrics,
        study_toml=study_toml,
        level=level,
        seed=study_obj.seed,
        distance_level=distance_level,
    )
    model_name = check_model_name(name if name is not None else f"{fit.target}-{fit.scenario}")
    uri = tracking_uri(home, tracking)
    X_example = fit.X_train.loc[:, list(fit.inputs)].head(3).astype(float)
    with quiet_mlflow():
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
        experiment = client.get_experiment_by_name(EXPERIMENT)
        if experiment is None:
            location = artifact_root(home) if not tracking else None
            experiment_id = client.create_experiment(EXPERIMENT, artifact_location=location)
        else:
            experiment_id = experiment.experiment_id
        signature = infer_signature(X_example, fit.pipeline.predict(X_example))
        numeric = {k: float(v) for k, v in metrics.items() if isinstance(v, int | float) and not isinstance(v, bool)}
        with mlflow.start_run(experiment_id=experiment_id, run_name=model_name) as run:
            mlflow.log_params({"target": fit.target, "scenario": fit.scenario, "family": fit.family})
            mlflow.log_metrics({k: v for k, v in numeric.items() if v == v and abs(v) != float("inf")})
            info = mlflow.sklearn.log_model(
                fit.pipeline,
                name="model",
                serialization_format="cloudpickle",
                signature=signature,
                input_example=X_example,
                registered_model_name=model_name,
            )
            with tempfile.TemporaryDirectory() as tmp:
                bundle.write(Path(tmp) / BUNDLE_PATH)
                mlflow.log_artifacts(str(Path(tmp) / BUNDLE_PATH), artifact_path=BUNDLE_PATH)
            run_id = run.info.run_id
        version = str(info.registered_model_version)
        for key in ("data_hash", "design_id", "glassline_version", "git_revision", "target", "scenario", "family"):
            value = bundle.lineage.get(key)
            if value is not None:
                client.set_model_version_tag(model_name, version, f"glassline.{key}", str(value))
        client.set_model_version_tag(model_name, version, "glassline.run_id", run_id)
        if alias:
            client.set_registered_model_alias(model_name, alias, version)
    record = {
        "name": model_name,
        "version": version,
        "alias": alias,
        "run_id": run_id,
        "target": fit.target,
        "scenario": fit.scenario,
        "family": fit.family,
        "results_dir": str(folder.resolve()),
        **{k: bundle.lineage.get(k) for k in ("data_hash", "design_id", "glassline_version", "git_revision")},
    }
    return PublishedModel(model_name, version, run_id, uri), record


@dataclass
class LoadedModel:
    """A model version loaded from the registry: the pipeline and its glassline bundle."""

    name: str
    version: str
    pipeline: Pipeline
    bundle: Bundle
    run_id: str

    def predict(self, X: pd.DataFrame) -> Any:
        return self.pipeline.predict(X.loc[:, self.bundle.inputs])


def load_model(ref: str | ModelRef, *, tracking: str | None = None, home: str | Path | None = None) -> LoadedModel:
    """Load ``NAME``, ``NAME@ALIAS`` or ``NAME/VERSION`` (NAME alone: its latest version) with its bundle."""
    import mlflow
    from mlflow.exceptions import MlflowException

    model = parse_model_ref(ref) if isinstance(ref, str) else ref
    uri = tracking_uri(home, tracking)
    with quiet_mlflow():
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
        try:
            if model.alias:
                mv = client.get_model_version_by_alias(model.name, model.alias)
            elif model.version:
                mv = client.get_model_version(model.name, model.version)
            else:
                versions = client.search_model_versions(f"name = '{model.name}'")
                if not versions:
                    raise MlflowException(f"no versions of {model.name!r}")
                mv = max(versions, key=lambda v: int(v.version))
        except MlflowException:
            known = [m.name for m in client.search_registered_models()]
            raise RegistryError(
                f"model {str(model)!r} not found in the registry at {uri}; registered models: {known}."
                + did_you_mean(model.name, known)
            ) from None
        run_id = mv.run_id or ""
        pipeline = mlflow.sklearn.load_model(f"models:/{mv.name}/{mv.version}")
        with tempfile.TemporaryDirectory() as tmp:
            local = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=BUNDLE_PATH, dst_path=tmp, tracking_uri=uri
            )
            bundle = Bundle.read(Path(local))
    return LoadedModel(str(mv.name), str(mv.version), pipeline, bundle, run_id)
