"""The cross-validation schemes (no heavy imports: the command line builds its options from it)."""

from enum import StrEnum

__all__ = ["CVScheme"]


class CVScheme(StrEnum):
    """How the honest cross-validation forms its folds."""

    GROUPED = "grouped"
    """``cv_folds`` × ``cv_repeats``: K-fold over whole groups, reshuffled per repeat."""
    LOGO = "logo"
    """Leave one group out: one fold per group, no repeats."""
