"""glassline: explainable process-quality models for manufacturing.

From a designed experiment, through the line's data, to models that are compared honestly and
explained in the language of the people who act on them.
"""

from importlib.metadata import PackageNotFoundError, version

from glassline.exceptions import DataError, DesignError, GlasslineError, SpecError
from glassline.spec import Study, load_study, study_from_dict

try:
    __version__ = version("glassline")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = [
    "DataError",
    "DesignError",
    "GlasslineError",
    "SpecError",
    "Study",
    "__version__",
    "load_study",
    "study_from_dict",
]
