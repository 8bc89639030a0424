"""Influential points: rows whose removal changes the fit or its test error most.

- linear families (an ordinary least-squares pipeline): Cook's distance of each training row
  (statsmodels' OLS influence on the standardized inputs); a row is a candidate when D > 4 / n;
- every other family: leave-one-configuration-out on the training rows — refit without one
  configuration (a group; each row is its own group without one); score = RMS shift of the training
  predictions, beside the change of the test RMSE; the configurations with the TOP_LOO largest
  scores are candidates.

Candidates are for data-quality and label checks, not for deletion.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
import statsmodels.api as sm
from sklearn.base import clone

from glassline._cluster import map_tasks
from glassline.models import Fit, FitKey

__all__ = ["INFLUENCE_COLUMNS", "influential_points"]

INFLUENCE_COLUMNS: tuple[str, ...] = (
    "target",
    "scenario",
    "family",
    "row_id",
    "method",
    "score",
    "threshold",
    "candidate",
    "y",
    "prediction",
)

#: Rows listed per fit for leave-one-out families (the largest changes).
TOP_LOO = 3


def _cooks(fit: Fit) -> pd.DataFrame:
    X = fit.pipeline.steps[0][1].transform(fit.X_train.loc[:, list(fit.inputs)])
    model = sm.OLS(
        np.asarray(fit.y_train, dtype=float), sm.add_constant(np.asarray(X, dtype=float), has_constant="add")
    )
    distance = np.asarray(model.fit().get_influence().cooks_distance[0], dtype=float)
    threshold = 4.0 / len(distance)
    return pd.DataFrame(
        {"row_id": fit.X_train.index, "method": "cooks_distance", "score": distance, "threshold": threshold}
    )


def _loo(fit: Fit, groups: pd.Series | None) -> pd.DataFrame:
    X, y = fit.X_train.loc[:, list(fit.inputs)], fit.y_train
    labels = X.index.astype(str).to_numpy()
    if groups is not None:
        known = groups.reindex(X.index)
        labels = np.where(known.notna(), known.astype(str), labels)
    base_train = fit.predict(X)
    has_test = len(fit.X_test) > 0
    base_rmse = float(np.sqrt(np.mean((fit.predict(fit.X_test) - fit.y_test) ** 2))) if has_test else 0.0
    rows = []
    for group in np.unique(labels):
        keep = labels != group
        if keep.sum() < 3:
            continue
        pipeline = clone(fit.pipeline).fit(X[keep], y[keep])
        shift = float(np.sqrt(np.mean((pipeline.predict(X) - base_train) ** 2)))
        test_rows = fit.X_test.loc[:, list(fit.inputs)]
        rmse = float(np.sqrt(np.mean((pipeline.predict(test_rows) - fit.y_test) ** 2))) if has_test else 0.0
        for row_id in X.index[~keep]:
            rows.append(
                {
                    "row_id": row_id,
                    "group": group,
                    "method": "leave_one_configuration_out",
                    "score": shift,
                    "test_rmse_change": rmse - base_rmse,
                }
            )
    table = pd.DataFrame(rows)
    table["threshold"] = float(table["score"].sort_values(ascending=False).iloc[min(TOP_LOO, len(table)) - 1])
    return table


def _influence_of(fit: Fit, group: pd.Series | None) -> pd.DataFrame:
    linear = fit.family == "mlr" or (len(fit.pipeline.steps) == 2 and hasattr(fit.pipeline.steps[-1][1], "coef_"))
    table = _cooks(fit) if linear else _loo(fit, group)
    table["candidate"] = table["score"] >= table["threshold"]
    table["y"] = fit.y_train.reindex(table["row_id"]).to_numpy()
    table["prediction"] = fit.predict(fit.X_train.loc[table["row_id"]])
    table.insert(0, "family", fit.family)
    table.insert(0, "scenario", fit.scenario)
    table.insert(0, "target", fit.target)
    return table


def influential_points(
    fits: Iterable[Fit], groups: Mapping[FitKey, pd.Series | None] | None = None, *, n_jobs: int = 1
) -> pd.DataFrame:
    """influential.csv: per fit, every row's influence score; ``candidate`` marks rows to check.

    *groups* maps a fit's key to its training rows' configuration labels (row id → group); *n_jobs*
    worker processes share the fits (the leave-one-configuration-out refits are the cost).
    """
    chosen = list(fits)
    pairs = [(fit, (groups or {}).get(fit.key)) for fit in chosen]
    # where the refits run: glassline._cluster (local processes, or the active Dask cluster)
    parts = list(map_tasks(_influence_of, pairs, n_jobs=n_jobs, prefer=None))
    if not parts:
        return pd.DataFrame(columns=list(INFLUENCE_COLUMNS))
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["target", "scenario", "family", "score"], ascending=[True, True, True, False])
