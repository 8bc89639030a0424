"""The collinearity limits of a scenario's inputs: soft (explain, with a warning) and hard (withhold).

Declared below the study file (:mod:`glassline.spec` reads them from ``[models]``) and the models
(:func:`glassline.models.collinearity` grades a scenario with them); public as
``glassline.models.CollinearityLimits`` and the ``*_LIMIT`` constants there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from glassline.exceptions import SpecError

__all__ = ["HARD_R_LIMIT", "HARD_VIF_LIMIT", "SOFT_R_LIMIT", "SOFT_VIF_LIMIT", "CollinearityLimits"]

#: Soft limit on |Pearson r| between two inputs (beyond it: explained, with a ``collinear`` warning): the
#: paper's 0.3 ("all correlation coefficients are below 0.3", section "Prediction of Product Properties Using
#: Data-Driven Models"), which it uses to describe its inputs as weakly correlated.
SOFT_R_LIMIT = 0.3
#: Soft limit on the variance inflation factor: 5, the lower end of the usual rule of thumb ("a VIF value that
#: exceeds 5 or 10 indicates a problematic amount of collinearity", James, Witten, Hastie, Tibshirani,
#: *An Introduction to Statistical Learning*, 2013, §3.3.3, ref. 35 of the paper).
SOFT_VIF_LIMIT = 5.0
#: Hard limit on the variance inflation factor (beyond it the inputs are near-copies and the scenario's
#: explanations are withheld): 10, the upper end of the same rule of thumb (ISL §3.3.3): an input whose
#: R² on the others exceeds 0.9.
HARD_VIF_LIMIT = 10.0
#: Hard limit on |r|: 0.95, the pairwise form of the hard VIF limit (two inputs with |r| = √0.9 ≈ 0.949 have
#: VIF 1 / (1 − r²) = 10).
HARD_R_LIMIT = 0.95


def _apart(a: float, b: float) -> tuple[str, str]:
    """*a* and *b* with the fewest significant figures (at least 3) that print them as different numbers.

    ``_apart(5.0000001, 5.0) == ("5.0000001", "5")``: a message never says "expected ≥ 5, got 5".
    """
    for digits in range(3, 18):
        shown = f"{a:.{digits}g}", f"{b:.{digits}g}"
        if a == b or float(shown[0]) != float(shown[1]):
            return shown
    return repr(a), repr(b)


@dataclass(frozen=True)
class CollinearityLimits:
    """The soft limits (explained, with a ``collinear`` warning) and hard limits (explanations withheld).

    :meth:`problem` says what is wrong with a set of limits; :meth:`checked` raises it as a
    :class:`~glassline.exceptions.SpecError` naming where the limits came from.
    """

    soft_vif: float = SOFT_VIF_LIMIT
    hard_vif: float = HARD_VIF_LIMIT
    soft_r: float = SOFT_R_LIMIT
    hard_r: float = HARD_R_LIMIT

    def problem(self) -> tuple[str, str] | None:
        """``(field, message)`` of the first invalid limit, or None when all four are valid."""
        for name in ("soft_vif", "hard_vif"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 1.0):
                return name, f"expected a VIF limit ≥ 1 (a VIF is never below 1), got {value!r}"
        for name in ("soft_r", "hard_r"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and 0.0 < value <= 1.0):
                return name, f"expected an |r| limit in (0, 1], got {value!r}"
        if self.hard_vif < self.soft_vif:
            soft, hard = _apart(self.soft_vif, self.hard_vif)
            return "hard_vif", f"expected ≥ the soft VIF limit {soft}, got {hard}"
        if self.hard_r < self.soft_r:
            soft, hard = _apart(self.soft_r, self.hard_r)
            return "hard_r", f"expected ≥ the soft |r| limit {soft}, got {hard}"
        return None

    def checked(self, where: str, names: Mapping[str, str] | None = None) -> CollinearityLimits:
        """These limits, or a one-line SpecError ``"{where}: {field}: {message}"``.

        *names* maps a field (``"hard_vif"``) to the name the user wrote (``"--vif-hard"``).
        """
        found = self.problem()
        if found is not None:
            name, message = found
            label = (names or {}).get(name, name)
            raise SpecError(f"{where}: {label}: {message}")
        return self
