"""The errors glassline raises.

Every class is also a built-in error, so callers that only know Python's own exceptions still catch
them (``except ValueError`` catches a :class:`SpecError`). A message says where the problem is (file,
row, column or field), what was expected, what came in, and, for names, the closest valid ones.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "ClusterError",
    "DataError",
    "DesignError",
    "DomainError",
    "GlasslineError",
    "OutputError",
    "QueryError",
    "RegistryError",
    "SpecError",
    "StoreError",
    "UnknownNameError",
    "did_you_mean",
]


class GlasslineError(Exception):
    """Base class of every error glassline raises on purpose."""


class SpecError(GlasslineError, ValueError):
    """A study file (or an in-memory study) is invalid."""


class UnknownNameError(SpecError, KeyError):
    """A target, scenario or model-family name that the study or the results do not hold.

    Also a :class:`KeyError`, so a mapping keyed by those names (``Fits``) keeps the mapping contract
    (``key in fits``, ``fits.get(key)``); unlike a bare ``KeyError`` it prints its message as it is.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class DataError(GlasslineError, ValueError):
    """A data file or table (design, raw line data, dataset) is invalid."""


class DesignError(GlasslineError, ValueError):
    """A design cannot be built or evaluated as requested."""


class OutputError(GlasslineError, OSError):
    """An output file or folder cannot be written: its parent is a file, the disk is full, no permission."""


class StoreError(GlasslineError, RuntimeError):
    """The token table or audit log cannot be used (unreachable database, broken schema)."""


class DomainError(GlasslineError, LookupError):
    """A domain pack that is not installed or is malformed, or a part a domain pack does not supply."""


class QueryError(GlasslineError, ValueError):
    """A read of stored records (the audit log) asks for something impossible: an unknown kind, an empty range."""


class ClusterError(GlasslineError, RuntimeError):
    """Where work runs cannot be used: an unknown ``--cluster`` value, Dask missing, no scheduler at the address."""


class RegistryError(GlasslineError, LookupError):
    """A model name, version or alias the registry does not hold, or a store that cannot be reached."""


def did_you_mean(name: str, valid: Iterable[str], *, n: int = 3) -> str:
    """Return a " Did you mean ...?" hint for *name* among *valid*, or "" when nothing is close.

    >>> did_you_mean("porosty", ["porosity", "mass_loading"])
    " Did you mean 'porosity'?"
    """
    choices = list(valid)
    matches = difflib.get_close_matches(name, choices, n=n, cutoff=0.6)
    if not matches:
        lowered = {c.lower(): c for c in choices}
        matches = [lowered[m] for m in difflib.get_close_matches(name.lower(), lowered, n=n, cutoff=0.6)]
    if not matches:
        return ""
    quoted = ", ".join(repr(m) for m in matches)
    return f" Did you mean {quoted}?"
