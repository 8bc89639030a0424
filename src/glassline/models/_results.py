"""What a comparison produces, how it is written to RESULTS_DIR, and how it is loaded back in one call.

RESULTS_DIR holds ``results.csv`` (one row per target × scenario × family), ``results.md`` (the same
as a Table-5-style table), ``predictions.parquet`` (every prediction of every split), ``tuning.csv``
(the hyperparameters chosen in every outer split and the seconds each took), ``collinearity.csv``,
``run.json`` (settings, notes and the study file's path and SHA-256), ``study.toml`` (a copy of the
study file the results were fitted from), ``parity/<target>.png`` and
``models/<target>/<scenario>/<family>.joblib``: the pipelines refit on the paper's training rows, with
their training and test rows. :func:`load_fits` reads them back.

``results.csv``'s ``lof_f``, ``lof_p``, ``lof_df`` and ``pure_error_df`` are the pure-error lack-of-fit test
of the paper split's fit on its training rows (:mod:`glassline.models._lack_of_fit`): NaN for families not
linear in their parameters, without replicates, or without lack-of-fit degrees of freedom.

The same data, study and seed give byte-identical ``results.csv`` and ``predictions.parquet``: the
timings live in ``tuning.csv`` and ``run.json`` only.

``predictions.parquet`` has one row per prediction: ``row_id`` (0-based row of the source table),
``group``, ``target``, ``scenario``, ``family``, ``split`` (``train``/``test`` of the paper's split, or
``cv``), ``repeat`` and ``fold`` of the cross-validation (−1 for the paper's split), ``y_true``, ``y_pred``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from glassline.exceptions import DataError, SpecError, UnknownNameError, did_you_mean
from glassline.models._registry import FAMILIES, ExplainerKind
from glassline.models._study_file import STUDY_COPY, record_study, resolve_study
from glassline.spec import Study, load_study

__all__ = ["RESULT_COLUMNS", "Comparison", "Fit", "FitKey", "Fits", "load_fits", "results_markdown"]

FitKey = tuple[str, str, str]
"""(target, scenario, family)."""

#: The columns of results.csv, in order.
RESULT_COLUMNS: tuple[str, ...] = (
    "target",
    "scenario",
    "family",
    "best",
    "n_train",
    "n_test",
    "r2_train",
    "r2_test",
    "rmse_train",
    "rmse_test",
    "mse_ratio",
    "cv_r2_mean",
    "cv_r2_std",
    "cv_r2_pooled",
    "cv_rmse_mean",
    "cv_rmse_std",
    "optimism",
    "lof_f",
    "lof_p",
    "lof_df",
    "pure_error_df",
    "explainable",
    "max_vif",
    "max_abs_r",
    "cv_scheme",
    "cv_splits",
    "n_rows",
    "n_groups",
    "inputs",
    "params",
    "n_fits",
)

_FORMAT = 1


@dataclass(frozen=True)
class Fit:
    """One fitted pipeline: a family on a target × scenario, refit on the paper's training rows.

    ``X_train``/``X_test`` (inputs only) and ``y_train``/``y_test`` are indexed by row id, so the
    explanation stage has its background and the rows to explain at hand.
    """

    target: str
    scenario: str
    family: str
    inputs: tuple[str, ...]
    pipeline: Pipeline
    params: dict[str, Any]
    explainer: ExplainerKind
    explainable: bool
    X_train: pd.DataFrame
    y_train: pd.Series
    X_test: pd.DataFrame
    y_test: pd.Series

    @property
    def key(self) -> FitKey:
        return (self.target, self.scenario, self.family)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Predictions for the rows of *X* (extra columns are ignored)."""
        return np.asarray(self.pipeline.predict(X.loc[:, list(self.inputs)]), dtype=float)

    def _payload(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "target": self.target,
            "scenario": self.scenario,
            "family": self.family,
            "inputs": list(self.inputs),
            "pipeline": self.pipeline,
            "params": self.params,
            "explainer": self.explainer,
            "explainable": self.explainable,
            "X_train": self.X_train,
            "y_train": self.y_train,
            "X_test": self.X_test,
            "y_test": self.y_test,
        }

    @classmethod
    def _from_payload(cls, payload: Mapping[str, Any], path: Path) -> Fit:
        if not isinstance(payload, Mapping) or payload.get("format") != _FORMAT:
            raise DataError(f"{path}: not a glassline fit (format {_FORMAT})")
        return cls(
            target=payload["target"],
            scenario=payload["scenario"],
            family=payload["family"],
            inputs=tuple(payload["inputs"]),
            pipeline=payload["pipeline"],
            params=dict(payload["params"]),
            explainer=payload["explainer"],
            explainable=bool(payload["explainable"]),
            X_train=payload["X_train"],
            y_train=payload["y_train"],
            X_test=payload["X_test"],
            y_test=payload["y_test"],
        )


def _model_path(folder: Path, key: FitKey) -> Path:
    target, scenario, family = key
    return folder / "models" / target / scenario / f"{family}.joblib"


class Fits(Mapping[FitKey, Fit]):
    """Fitted pipelines keyed by (target, scenario, family), with the results table beside them.

    Pipelines loaded from a results folder are read from disk on first access.
    """

    def __init__(
        self,
        results: pd.DataFrame,
        fits: Mapping[FitKey, Fit] | None = None,
        *,
        folder: Path | None = None,
    ) -> None:
        self.results = results
        self.folder = folder
        self._fits: dict[FitKey, Fit] = dict(fits or {})
        columns = results.loc[:, ["target", "scenario", "family"]]
        self._keys: list[FitKey] = [(str(t), str(s), str(f)) for t, s, f in columns.itertuples(index=False)]

    def __getitem__(self, key: FitKey) -> Fit:
        key = self._key(key)
        if key not in self._fits:
            if key not in self._keys:
                raise self._unknown(*key)
            if self.folder is None:
                raise UnknownNameError(
                    f"no fit kept for {' / '.join(key)}: results.csv lists it, but this set holds only "
                    f"{len(self._fits)} of its {len(self._keys)} fits and no folder to load the others from"
                )
            path = _model_path(self.folder, key)
            if not path.exists():
                raise DataError(f"{path}: missing; results.csv lists {key} but its saved pipeline is gone")
            self._fits[key] = Fit._from_payload(joblib.load(path), path)
        return self._fits[key]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, tuple) and len(key) == 3 and (key in self._fits or key in self._keys)

    def __iter__(self) -> Iterator[FitKey]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    @staticmethod
    def _key(key: Any) -> FitKey:
        if not isinstance(key, tuple | list) or len(key) != 3:
            raise UnknownNameError(f"a fit is looked up by (target, scenario, family), got {key!r}")
        target, scenario, family = key
        return (str(target), str(scenario), str(family))

    def _unknown(self, target: str, scenario: str | None = None, family: str | None = None) -> UnknownNameError:
        """The one-line error for a target, scenario or family the results do not hold, with did-you-mean."""
        targets = list(dict.fromkeys(k[0] for k in self._keys))
        if target not in targets:
            return UnknownNameError(
                f"no fits for target {target!r}; the results hold the targets {targets}."
                + did_you_mean(target, targets)
            )
        scenarios = list(dict.fromkeys(k[1] for k in self._keys if k[0] == target))
        if scenario is not None and scenario not in scenarios:
            return UnknownNameError(
                f"no fits for target {target!r} in scenario {scenario!r}; its scenarios are {scenarios}."
                + did_you_mean(scenario, scenarios)
            )
        families = list(dict.fromkeys(k[2] for k in self._keys if k[0] == target and k[1] == scenario))
        return UnknownNameError(
            f"no fit for family {family!r} of {target} / {scenario}; its families are {families}."
            + did_you_mean(str(family), families)
        )

    def best(self, target: str, scenario: str) -> Fit:
        """The family chosen by grouped cross-validation for *target* × *scenario*."""
        rows = self.results[(self.results["target"] == target) & (self.results["scenario"] == scenario)]
        if rows.empty:
            raise self._unknown(target, scenario)
        chosen = rows[rows["best"].astype(bool)]
        family = str((chosen if not chosen.empty else rows).iloc[0]["family"])
        return self[(target, scenario, family)]

    def select(self, *, target: str | None = None, scenario: str | None = None, family: str | None = None) -> list[Fit]:
        """Every fit matching the given target, scenario and family (None: any); an unknown name is an error."""
        wanted = (target, scenario, family)
        for position, (kind, name) in enumerate(zip(("target", "scenario", "family"), wanted, strict=True)):
            known = list(dict.fromkeys(k[position] for k in self._keys))
            if name is not None and name not in known:
                raise UnknownNameError(
                    f"no fits for {kind} {name!r}; the results hold the {kind}s {known}." + did_you_mean(name, known)
                )
        return [self[k] for k in self._keys if all(w is None or w == part for w, part in zip(wanted, k, strict=True))]

    @classmethod
    def load(cls, folder: str | Path) -> Fits:
        """The fits of a results folder (the same as :func:`load_fits`)."""
        return load_fits(folder)


@dataclass
class Comparison:
    """The outcome of :func:`~glassline.models.compare`: tables, predictions, fitted pipelines and notes.

    ``study`` is the study compared (None when unknown); :meth:`write` keeps it beside the results.
    ``folder`` is the results folder it was written to or loaded from (None until then).
    """

    study_name: str
    results: pd.DataFrame
    predictions: pd.DataFrame
    tuning: pd.DataFrame
    collinearity: pd.DataFrame
    fits: Fits
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    study: Study | None = None
    folder: Path | None = None

    def best(self) -> pd.DataFrame:
        """One row per target × scenario: the family chosen by grouped cross-validation."""
        return self.results[self.results["best"].astype(bool)].reset_index(drop=True)

    def write(self, out: str | Path, *, plots: bool = True, study_file: str | Path | None = None) -> list[Path]:
        """Write every output to folder *out* (created if needed); returns the files written.

        *study_file*: the file :attr:`study` was read from; the folder keeps a byte-for-byte copy of it
        as ``study.toml`` (without one, or when :attr:`study` was fitted with another seed than the
        file's, :attr:`study` is written there) and run.json records its path and SHA-256, so later
        stages find the study the results were fitted with (see :func:`~glassline.models.resolve_study`).
        """
        from glassline.models._parity import write_parity_plots

        folder = Path(out)
        if folder.exists() and not folder.is_dir():
            raise DataError(f"{folder}: exists and is not a folder; give a folder for the results")
        folder.mkdir(parents=True, exist_ok=True)
        written = [folder / "results.csv", folder / "results.md", folder / "predictions.parquet"]
        self.results.to_csv(written[0], index=False)
        written[1].write_text(results_markdown(self), encoding="utf-8")
        self.predictions.to_parquet(written[2], index=False)
        for name, table in (("tuning.csv", self.tuning), ("collinearity.csv", self.collinearity)):
            table.to_csv(folder / name, index=False)
            written.append(folder / name)
        if study_file is not None and self.study is not None and load_study(study_file).seed != self.study.seed:
            study_file = None  # fitted with another seed than the file's: keep the study as fitted
        recorded = record_study(folder, study=self.study, study_file=study_file)
        if recorded:
            written.append(folder / STUDY_COPY)
        run = {"study": self.study_name, "notes": self.notes, **self.settings, **recorded}
        (folder / "run.json").write_text(json.dumps(run, indent=2, default=str), encoding="utf-8")
        written.append(folder / "run.json")
        for key in self.fits:
            path = _model_path(folder, key)
            path.parent.mkdir(parents=True, exist_ok=True)
            joblib.dump(self.fits[key]._payload(), path)
            written.append(path)
        if plots:
            written.extend(write_parity_plots(self, folder / "parity"))
        self.folder = folder
        self.fits.folder = folder
        return written

    @classmethod
    def load(cls, folder: str | Path, *, study: Study | str | Path | None = None) -> Comparison:
        """Read back a results folder written by :meth:`write` (or ``glassline fit``).

        The fitted pipelines load on first use (see :class:`Fits`); *study* as for
        :func:`~glassline.models.resolve_study` (default: the one the folder records; None if none is found).
        """
        path = Path(folder)
        fits = load_fits(path)
        run_file = path / "run.json"
        settings: dict[str, Any] = json.loads(run_file.read_text(encoding="utf-8")) if run_file.is_file() else {}
        notes = [str(n) for n in settings.pop("notes", [])]
        name = str(settings.pop("study", ""))
        for recorded in ("study_file", "study_sha256"):
            settings.pop(recorded, None)
        try:
            the_study: Study | None = resolve_study(path, study).study
        except SpecError:
            if study is not None:
                raise
            the_study = None

        def table(file: str) -> pd.DataFrame:
            return pd.read_csv(path / file) if (path / file).is_file() else pd.DataFrame()

        predictions = path / "predictions.parquet"
        return cls(
            study_name=name or (the_study.name if the_study else ""),
            results=fits.results,
            predictions=pd.read_parquet(predictions) if predictions.is_file() else pd.DataFrame(),
            tuning=table("tuning.csv"),
            collinearity=table("collinearity.csv"),
            fits=fits,
            notes=notes,
            settings=settings,
            study=the_study,
            folder=path,
        )


def load_fits(results_dir: str | Path) -> Fits:
    """The fitted pipelines of a results folder written by ``glassline fit`` or :meth:`Comparison.write`.

    >>> fits = load_fits("results")                                 # doctest: +SKIP
    >>> fits.best("adhesion_strength", "product").predict(new_rows)  # doctest: +SKIP
    """
    folder = Path(results_dir)
    table = folder / "results.csv"
    if not table.exists():
        raise DataError(f"{folder}: no results.csv; expected a folder written by 'glassline fit'")
    results = pd.read_csv(table)
    missing = [c for c in ("target", "scenario", "family", "best") if c not in results.columns]
    if missing:
        raise DataError(f"{table}: missing column {missing[0]!r}; was it written by 'glassline fit'?")
    return Fits(results, folder=folder)


# ----------------------------------------------------------------------------- Markdown
def _num(value: Any, spec: str) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    if math.isnan(number):
        return "–"
    if math.isinf(number):
        return "∞"
    return format(number, spec)


class _Row:
    """Attribute access to one results record."""

    def __init__(self, record: Mapping[Any, Any]) -> None:
        self._record = record

    def __getattr__(self, name: str) -> Any:
        return self._record[name]


def _short_params(text: Any) -> str:
    if not isinstance(text, str) or not text or text == "{}":
        return "none tuned"
    params = json.loads(text)
    return ", ".join(f"{k.rsplit('__', 1)[-1]}={v}" for k, v in params.items())


def results_markdown(comparison: Comparison) -> str:
    """results.md: Table 5 of the paper, with the honest grouped-CV columns beside it."""
    s = comparison.settings
    labels: dict[str, str] = s.get("labels", {})
    lines = [
        f"# Model comparison: {comparison.study_name}",
        "",
        f"- **Paper protocol** (Haghi et al. 2023, Table 5): one random split, {s.get('test_fraction', 0.2):.0%} test "
        f"rows (seed {s.get('seed')}), the same test rows for every family of a target.",
        f"- **Honest protocol**: {s.get('cv_description', 'cross-validation')}; hyperparameters tuned by inner "
        "cross-validation on training rows only.",
        "- ★ marks the best family per target × scenario, chosen by pooled cross-validated R² (never by the "
        "random split). *Optimism* = R²_test − CV R² (pooled): how much the random split flatters the model.",
        "- *Explainable*: the scenario's inputs pass the multicollinearity limits "
        f"(max VIF ≤ {s.get('vif_limit', 5):g}, max |r| ≤ {s.get('r_limit', 0.3):g}); otherwise later stages "
        "skip or flag its explanations.",
        "",
        "| Target variable | Input variables | Model | R²_training | R²_test | RMSE_training | RMSE_test "
        "| MSE_training/MSE_test | CV R² (pooled) | CV R² mean ± SD | CV RMSE mean ± SD | Optimism | Explainable "
        "| Hyperparameters |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|:-:|---|",
    ]
    previous: tuple[str, str] | None = None
    for record in comparison.results.to_dict("records"):
        row = _Row(record)
        target, scenario, name = str(row.target), str(row.scenario), str(row.family)
        target_cell = labels.get(target, target) if previous is None or previous[0] != target else ""
        inputs_cell = (
            f"{scenario}: " + ", ".join(labels.get(c, c) for c in str(row.inputs).split(","))
            if previous != (target, scenario)
            else ""
        )
        previous = (target, scenario)
        family = FAMILIES[name].label if name in FAMILIES else name
        star = f"**{family}** ★" if row.best else family
        lines.append(
            "| "
            + " | ".join(
                [
                    target_cell,
                    inputs_cell,
                    star,
                    _num(row.r2_train, ".2f"),
                    _num(row.r2_test, ".2f"),
                    _num(row.rmse_train, ".3g"),
                    _num(row.rmse_test, ".3g"),
                    _num(row.mse_ratio, ".2f"),
                    _num(row.cv_r2_pooled, ".2f"),
                    f"{_num(row.cv_r2_mean, '.2f')} ± {_num(row.cv_r2_std, '.2f')}",
                    f"{_num(row.cv_rmse_mean, '.3g')} ± {_num(row.cv_rmse_std, '.2g')}",
                    _num(row.optimism, "+.2f"),
                    "yes" if row.explainable else "**no**",
                    _short_params(row.params),
                ]
            )
            + " |"
        )
    if comparison.notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in comparison.notes]
    return "\n".join(lines) + "\n"
