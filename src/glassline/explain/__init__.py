"""Explanations people can check: SHAP for every family, MDI, normalized coefficients, permutation
importance, cross-model agreement, expert expectations, uncertainty (grouped bootstrap by default),
graded claims, influential points and narratives written from the claims, in the study's own words.

>>> from glassline.explain import explain
>>> explanations = explain("results/")                     # doctest: +SKIP
>>> explanations.importance.query("method == 'shap'")      # doctest: +SKIP
"""

from glassline.explain._agreement import agreement
from glassline.explain._claims import (
    CI_LEVEL,
    CLAIM_COLUMNS,
    CONFIDENCE_WORDS,
    CONFOUNDING_KINDS,
    EXTRAPOLATION_TOLERANCE,
    LOF_ALPHA,
    RANK_PROBABILITY_MIN,
    RANKS_COLUMNS,
    TIE_PROBABILITY,
    UNCERTAINTY_COLUMNS,
    classify_shape,
    confidence,
    warning_factors,
)
from glassline.explain._curvature import CURVATURE_ALPHA, Curvature, curvature_test
from glassline.explain._expectations import check_expectations
from glassline.explain._explanations import Explanations
from glassline.explain._importance import (
    IMPORTANCE_COLUMNS,
    normalized_coefficients,
    partial_dependence,
)
from glassline.explain._influence import influential_points
from glassline.explain._narrative import narratives
from glassline.explain._order import ORDER_ALPHA, ORDER_RHO_LIMIT, OrderCheck, order_checks
from glassline.explain._physics_check import PhysicsContext, PhysicsResult
from glassline.explain._shapley import ShapSettings, shap_values
from glassline.explain._stage import collinearity_limits, explain
from glassline.explain._uncertainty import (
    BootstrapDraws,
    bootstrap_draws,
    bootstrap_importance,
    conformal_quantile,
    prediction_interval,
)
from glassline.explain._warnings import (
    MIN_CV_R2,
    MIN_RESIDUAL_DF,
    WARNING_COLUMNS,
    WARNING_KINDS,
    explanation_warnings,
)
from glassline.explain._window import Requirement, Window, parse_requirement, process_window

__all__ = [
    "CI_LEVEL",
    "CLAIM_COLUMNS",
    "CONFIDENCE_WORDS",
    "CONFOUNDING_KINDS",
    "CURVATURE_ALPHA",
    "EXTRAPOLATION_TOLERANCE",
    "IMPORTANCE_COLUMNS",
    "LOF_ALPHA",
    "MIN_CV_R2",
    "MIN_RESIDUAL_DF",
    "ORDER_ALPHA",
    "ORDER_RHO_LIMIT",
    "RANKS_COLUMNS",
    "RANK_PROBABILITY_MIN",
    "TIE_PROBABILITY",
    "UNCERTAINTY_COLUMNS",
    "WARNING_COLUMNS",
    "WARNING_KINDS",
    "BootstrapDraws",
    "Curvature",
    "Explanations",
    "OrderCheck",
    "PhysicsContext",
    "PhysicsResult",
    "Requirement",
    "ShapSettings",
    "Window",
    "agreement",
    "bootstrap_draws",
    "bootstrap_importance",
    "check_expectations",
    "classify_shape",
    "collinearity_limits",
    "confidence",
    "conformal_quantile",
    "curvature_test",
    "explain",
    "explanation_warnings",
    "influential_points",
    "narratives",
    "normalized_coefficients",
    "order_checks",
    "parse_requirement",
    "partial_dependence",
    "prediction_interval",
    "process_window",
    "shap_values",
    "warning_factors",
]
