"""Model comparison that is honest on small data.

The family registry (:data:`FAMILIES`), the paper's shared random test split beside grouped
repeated cross-validation by configuration, nested tuning on training rows only, the metrics of
Table 5 of the electrode paper, the multicollinearity check of each scenario, and :func:`compare`,
which runs the whole grid and returns a :class:`Comparison` to write or inspect.

>>> from glassline import load_study
>>> from glassline.models import compare, load_fits
>>> comparison = compare(load_study("study.toml"), "dataset/")   # doctest: +SKIP
>>> comparison.write("results/")                                  # doctest: +SKIP
>>> load_fits("results/").best("adhesion_strength", "product")   # doctest: +SKIP
"""

from glassline.models._compare import compare
from glassline.models._metrics import (
    DEFAULT_R_LIMIT,
    DEFAULT_VIF_LIMIT,
    Collinearity,
    collinearity,
    mse,
    mse_ratio,
    r2,
    rmse,
)
from glassline.models._parity import parity_figure, write_parity_plots
from glassline.models._registry import FAMILIES, ExplainerKind, Family, family_names, get_family
from glassline.models._results import RESULT_COLUMNS, Comparison, Fit, FitKey, Fits, load_fits, results_markdown
from glassline.models._splits import (
    CVScheme,
    Fold,
    RepeatedGroupKFold,
    cross_validation_folds,
    inner_folds,
    paper_split,
)
from glassline.models._study_file import ResolvedStudy, resolve_study
from glassline.models._tuning import Tuned, fit_tuned

__all__ = [
    "DEFAULT_R_LIMIT",
    "DEFAULT_VIF_LIMIT",
    "FAMILIES",
    "RESULT_COLUMNS",
    "CVScheme",
    "Collinearity",
    "Comparison",
    "ExplainerKind",
    "Family",
    "Fit",
    "FitKey",
    "Fits",
    "Fold",
    "RepeatedGroupKFold",
    "ResolvedStudy",
    "Tuned",
    "collinearity",
    "compare",
    "cross_validation_folds",
    "family_names",
    "fit_tuned",
    "get_family",
    "inner_folds",
    "load_fits",
    "mse",
    "mse_ratio",
    "paper_split",
    "parity_figure",
    "r2",
    "resolve_study",
    "results_markdown",
    "rmse",
    "write_parity_plots",
]
