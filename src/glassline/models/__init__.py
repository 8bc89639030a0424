"""Model comparison that is honest on small data.

The family registry (:data:`FAMILIES`, with the reduced quadratic :class:`ReducedQuadratic`), the
pure-error lack-of-fit test (:func:`lack_of_fit`) and the lead-model rule that uses it
(:func:`adequate_choice`), the paper's shared random test split beside grouped
repeated cross-validation by configuration, nested tuning on training rows only, the metrics of
Table 5 of the electrode paper, the multicollinearity check of each scenario, and :func:`compare`,
which runs the whole grid and returns a :class:`Comparison` to write or inspect.

>>> from glassline import load_study
>>> from glassline.models import compare, load_fits
>>> comparison = compare(load_study("study.toml"), "dataset/")   # doctest: +SKIP
>>> comparison.write("results/")                                  # doctest: +SKIP
>>> load_fits("results/").best("adhesion_strength", "product")   # doctest: +SKIP
"""

from typing import TYPE_CHECKING, Any

from glassline._lazy import load_lazily

if TYPE_CHECKING:
    from glassline.models._compare import check_selection, compare
    from glassline.models._lack_of_fit import LACK_OF_FIT_LEVEL, LackOfFit, adequate_choice, lack_of_fit
    from glassline.models._metrics import (
        DEFAULT_R_LIMIT,
        DEFAULT_VIF_LIMIT,
        HARD_R_LIMIT,
        HARD_VIF_LIMIT,
        SOFT_R_LIMIT,
        SOFT_VIF_LIMIT,
        Collinearity,
        CollinearityLimits,
        collinearity,
        mse,
        mse_ratio,
        r2,
        rmse,
    )
    from glassline.models._parity import parity_figure, write_parity_plots
    from glassline.models._registry import (
        FAMILIES,
        LARGE_DATA_ROWS,
        SMALL_DATA_GROUPS,
        DataSize,
        ExplainerKind,
        Family,
        family_names,
        get_family,
    )
    from glassline.models._results import RESULT_COLUMNS, Comparison, Fit, FitKey, Fits, load_fits, results_markdown
    from glassline.models._rsm import ReducedQuadratic
    from glassline.models._scheme import CVScheme
    from glassline.models._splits import (
        Fold,
        RepeatedGroupKFold,
        cross_validation_folds,
        inner_folds,
        paper_split,
    )
    from glassline.models._study_file import ResolvedStudy, resolve_study
    from glassline.models._tuning import Tuned, TuningSpace, fit_tuned, tuning_space

#: Public names and the module each lives in, imported on first use (scikit-learn and xgboost are slow to
#: load; the command line's --help and the service's start-up should not pay for what they do not use).
_LAZY = {
    "compare": "glassline.models._compare",
    "check_selection": "glassline.models._compare",
    "LACK_OF_FIT_LEVEL": "glassline.models._lack_of_fit",
    "LackOfFit": "glassline.models._lack_of_fit",
    "adequate_choice": "glassline.models._lack_of_fit",
    "lack_of_fit": "glassline.models._lack_of_fit",
    "ReducedQuadratic": "glassline.models._rsm",
    "DEFAULT_R_LIMIT": "glassline.models._metrics",
    "DEFAULT_VIF_LIMIT": "glassline.models._metrics",
    "HARD_R_LIMIT": "glassline.models._metrics",
    "HARD_VIF_LIMIT": "glassline.models._metrics",
    "SOFT_R_LIMIT": "glassline.models._metrics",
    "SOFT_VIF_LIMIT": "glassline.models._metrics",
    "Collinearity": "glassline.models._metrics",
    "CollinearityLimits": "glassline.models._metrics",
    "collinearity": "glassline.models._metrics",
    "mse": "glassline.models._metrics",
    "mse_ratio": "glassline.models._metrics",
    "r2": "glassline.models._metrics",
    "rmse": "glassline.models._metrics",
    "parity_figure": "glassline.models._parity",
    "write_parity_plots": "glassline.models._parity",
    "FAMILIES": "glassline.models._registry",
    "LARGE_DATA_ROWS": "glassline.models._registry",
    "SMALL_DATA_GROUPS": "glassline.models._registry",
    "DataSize": "glassline.models._registry",
    "ExplainerKind": "glassline.models._registry",
    "Family": "glassline.models._registry",
    "family_names": "glassline.models._registry",
    "get_family": "glassline.models._registry",
    "RESULT_COLUMNS": "glassline.models._results",
    "Comparison": "glassline.models._results",
    "Fit": "glassline.models._results",
    "FitKey": "glassline.models._results",
    "Fits": "glassline.models._results",
    "load_fits": "glassline.models._results",
    "results_markdown": "glassline.models._results",
    "CVScheme": "glassline.models._scheme",
    "Fold": "glassline.models._splits",
    "RepeatedGroupKFold": "glassline.models._splits",
    "cross_validation_folds": "glassline.models._splits",
    "inner_folds": "glassline.models._splits",
    "paper_split": "glassline.models._splits",
    "ResolvedStudy": "glassline.models._study_file",
    "resolve_study": "glassline.models._study_file",
    "Tuned": "glassline.models._tuning",
    "fit_tuned": "glassline.models._tuning",
    "TuningSpace": "glassline.models._tuning",
    "tuning_space": "glassline.models._tuning",
}

__all__ = [
    "DEFAULT_R_LIMIT",
    "DEFAULT_VIF_LIMIT",
    "FAMILIES",
    "HARD_R_LIMIT",
    "HARD_VIF_LIMIT",
    "LACK_OF_FIT_LEVEL",
    "LARGE_DATA_ROWS",
    "RESULT_COLUMNS",
    "SMALL_DATA_GROUPS",
    "SOFT_R_LIMIT",
    "SOFT_VIF_LIMIT",
    "CVScheme",
    "Collinearity",
    "CollinearityLimits",
    "Comparison",
    "DataSize",
    "ExplainerKind",
    "Family",
    "Fit",
    "FitKey",
    "Fits",
    "Fold",
    "LackOfFit",
    "ReducedQuadratic",
    "RepeatedGroupKFold",
    "ResolvedStudy",
    "Tuned",
    "TuningSpace",
    "adequate_choice",
    "check_selection",
    "collinearity",
    "compare",
    "cross_validation_folds",
    "family_names",
    "fit_tuned",
    "get_family",
    "inner_folds",
    "lack_of_fit",
    "load_fits",
    "mse",
    "mse_ratio",
    "paper_split",
    "parity_figure",
    "r2",
    "resolve_study",
    "results_markdown",
    "rmse",
    "tuning_space",
    "write_parity_plots",
]


def __getattr__(name: str) -> Any:
    return load_lazily(__name__, _LAZY, name)
