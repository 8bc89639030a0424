"""Checks of numeric arguments (numbers or arrays) of the physics and impedance functions, one message shape.

``check_array(function, name, value, rule)`` returns *value* as a float array, or raises a
:class:`~glassline.exceptions.DataError` ("The 'porosity' parameter of tortuosity must be finite and in
(0, 1). Got 1.2 instead.") when a non-NaN entry breaks *rule*. NaN passes through (missing data stays missing).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from glassline.exceptions import DataError

__all__ = ["FINITE", "HALF_OPEN_UNIT", "NON_NEGATIVE", "OPEN_UNIT", "POSITIVE", "check_array"]

POSITIVE = "> 0"
NON_NEGATIVE = ">= 0"
OPEN_UNIT = "in (0, 1)"
HALF_OPEN_UNIT = "in (0, 1]"
FINITE = "finite"


def check_array(function: str, name: str, value: npt.ArrayLike, rule: str) -> npt.NDArray[np.float64]:
    """Return *value* as a float array, or raise DataError if a non-NaN entry breaks *rule*."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise DataError(
            f"The {name!r} parameter of {function} must be a number or an array of numbers. Got {value!r} instead."
        ) from error
    with np.errstate(invalid="ignore"):
        if rule == POSITIVE:
            ok = array > 0
        elif rule == NON_NEGATIVE:
            ok = array >= 0
        elif rule == OPEN_UNIT:
            ok = (array > 0) & (array < 1)
        elif rule == HALF_OPEN_UNIT:
            ok = (array > 0) & (array <= 1)
        else:
            ok = np.ones(array.shape, dtype=bool)
    bad = ~(ok & np.isfinite(array)) & ~np.isnan(array)
    if np.any(bad):
        offenders = array[bad] if array.ndim else array.reshape(1)
        count = int(np.count_nonzero(bad))
        first = float(offenders[0])
        got = f"{first!r}" if count == 1 else f"{count} such values, e.g. {first!r}"
        raise DataError(f"The {name!r} parameter of {function} must be finite and {rule}. Got {got} instead.")
    return array
