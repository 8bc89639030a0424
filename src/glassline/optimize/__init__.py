"""One optimiser over fitted models: what-if curves, counterfactuals and the process window.

The callers give the models as :class:`Surface` objects that predict the way they do (the service's
predictor and interval for a served model, :meth:`glassline.models.Fit.predict` and the split-conformal
interval for a results folder) and the design space as a :class:`Space` with their validity-domain check:

- :func:`counterfactual`: the smallest change of the settable factors (fewest factors first, then the
  weighted L1 change in range units) that brings every bounded prediction, with its whole interval, into its
  requirement inside the domain; exact for tree ensembles and linear models, a stated search otherwise, or a
  certificate that none exists;
- :func:`what_if`: predictions, intervals and attributions along one or two factors;
- :func:`design_window`: the share of the box where every requirement holds, the recommended setting and the
  Derringer–Suich desirability optimum with its trade-offs.
"""

from glassline.optimize._counterfactual import DEFAULT_SECONDS, Counterfactual, counterfactual
from glassline.optimize._problem import Bounds, Space, Surface, Target, parse_bounds
from glassline.optimize._whatif import WhatIf, what_if
from glassline.optimize._window import DesignWindow, design_window

__all__ = [
    "DEFAULT_SECONDS",
    "Bounds",
    "Counterfactual",
    "DesignWindow",
    "Space",
    "Surface",
    "Target",
    "WhatIf",
    "counterfactual",
    "design_window",
    "parse_bounds",
    "what_if",
]
