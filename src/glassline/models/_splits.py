"""Splits: the paper's shared random test split and the grouped repeated cross-validation.

Two protocols are reported side by side. The paper's (Haghi et al. 2023): one seeded random
80/20 split, the same test rows for every family of a target. The honest one: repeated K-fold
cross-validation whose folds are whole groups (configurations), so replicates of one configuration
never sit on both sides of a split; leave-one-group-out is the alternative. With no group column
both fall back to plain (repeated) K-fold over rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.model_selection import GroupKFold, KFold, train_test_split

from glassline.exceptions import DataError
from glassline.models._scheme import CVScheme

__all__ = [
    "CVScheme",
    "Fold",
    "RepeatedGroupKFold",
    "cross_validation_folds",
    "inner_folds",
    "paper_split",
]

IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class Fold:
    """One outer fold: positions (0-based, into the rows of one target) of its training and test rows."""

    repeat: int
    fold: int
    train: IntArray
    test: IntArray


def _seed(*parts: int) -> int:
    """A 32-bit seed derived deterministically from several integers."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def paper_split(n_rows: int, test_fraction: float, seed: int) -> tuple[IntArray, IntArray]:
    """The paper's split: one seeded random train/test partition of ``range(n_rows)``, both sorted.

    The same (n_rows, test_fraction, seed) always gives the same test rows, so every family of a
    target is tested on identical rows.
    """
    if n_rows < 3:
        raise DataError(f"the paper's train/test split needs at least 3 rows, found {n_rows}")
    positions = np.arange(n_rows)
    train, test = train_test_split(positions, test_size=test_fraction, random_state=seed, shuffle=True)
    return np.sort(np.asarray(train, dtype=np.intp)), np.sort(np.asarray(test, dtype=np.intp))


class RepeatedGroupKFold:
    """Repeated K-fold over groups, reshuffled per repeat: a scikit-learn splitter.

    Each repeat permutes the groups with its own seed and deals them into ``n_splits`` folds of
    (nearly) equal numbers of groups (scikit-learn's ``GroupKFold(shuffle=True)``); a group's rows are
    always all in the test fold or all in the training part.
    """

    def __init__(self, n_splits: int = 5, n_repeats: int = 5, random_state: int = 0) -> None:
        self.n_splits = n_splits
        self.n_repeats = n_repeats
        self.random_state = random_state

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        return self.n_splits * self.n_repeats

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Iterator[tuple[IntArray, IntArray]]:
        if groups is None:
            raise ValueError("RepeatedGroupKFold needs groups")
        for repeat in range(self.n_repeats):
            splitter = GroupKFold(n_splits=self.n_splits, shuffle=True, random_state=_seed(self.random_state, repeat))
            yield from splitter.split(X, y, groups)


def _group_codes(groups: npt.ArrayLike) -> IntArray:
    _, codes = np.unique(np.asarray(groups), return_inverse=True)
    return np.asarray(codes, dtype=np.intp).ravel()


def cross_validation_folds(
    n_rows: int,
    groups: npt.ArrayLike | None,
    *,
    folds: int,
    repeats: int,
    seed: int,
    scheme: CVScheme = CVScheme.GROUPED,
    where: str = "data",
) -> list[Fold]:
    """The outer folds of the honest cross-validation for ``n_rows`` rows.

    With *groups*: grouped repeated K-fold (*scheme* ``grouped``) or leave-one-group-out (``logo``).
    Without: repeated K-fold over rows, whatever the scheme. Raises a DataError naming *where* when
    there are too few groups (or rows).
    """
    positions = np.arange(n_rows)
    out: list[Fold] = []
    if groups is None:
        if n_rows < max(folds, 3):
            raise DataError(
                f"{where}: {folds}-fold cross-validation needs at least {max(folds, 3)} rows, found {n_rows}"
            )
        for repeat in range(repeats):
            splitter = KFold(n_splits=folds, shuffle=True, random_state=_seed(seed, repeat))
            for fold, (train, test) in enumerate(splitter.split(positions)):
                out.append(Fold(repeat, fold, np.asarray(train, np.intp), np.asarray(test, np.intp)))
        return out
    codes = _group_codes(groups)
    if codes.shape[0] != n_rows:
        raise ValueError(f"groups has {codes.shape[0]} entries for {n_rows} rows")
    n_groups = int(codes.max()) + 1 if n_rows else 0
    if scheme is CVScheme.LOGO:
        if n_groups < 3:
            raise DataError(f"{where}: leave-one-group-out needs at least 3 groups (2 to tune on), found {n_groups}")
        for fold in range(n_groups):
            out.append(Fold(0, fold, positions[codes != fold], positions[codes == fold]))
        return out
    needed = max(folds, 3)
    if n_groups < needed:
        raise DataError(
            f"{where}: grouped {folds}-fold cross-validation needs at least {needed} groups, found {n_groups}; "
            "lower split.cv_folds in the study file, or add configurations"
        )
    splitter = RepeatedGroupKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
    for i, (train, test) in enumerate(splitter.split(positions, None, codes)):
        out.append(Fold(i // folds, i % folds, np.sort(train).astype(np.intp), np.sort(test).astype(np.intp)))
    return out


def inner_folds(n_rows: int, groups: npt.ArrayLike | None, *, folds: int, seed: int) -> list[tuple[IntArray, IntArray]]:
    """Folds for nested tuning inside one training part: grouped K-fold if *groups*, else K-fold.

    The number of folds shrinks to the number of groups (rows) available, but never below 2.
    """
    positions = np.arange(n_rows)
    if groups is None:
        k = min(folds, n_rows)
        if k < 2:
            raise DataError(f"nested tuning needs at least 2 training rows, found {n_rows}")
        splitter = KFold(n_splits=k, shuffle=True, random_state=seed)
        return [(np.asarray(a, np.intp), np.asarray(b, np.intp)) for a, b in splitter.split(positions)]
    codes = _group_codes(groups)
    n_groups = int(codes.max()) + 1 if n_rows else 0
    k = min(folds, n_groups)
    if k < 2:
        raise DataError(f"nested tuning needs at least 2 groups in the training rows, found {n_groups}")
    splitter = GroupKFold(n_splits=k, shuffle=True, random_state=seed)
    return [(np.asarray(a, np.intp), np.asarray(b, np.intp)) for a, b in splitter.split(positions, None, codes)]
