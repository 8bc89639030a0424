"""Splits: the paper's shared split, grouped repeated K-fold, leave-one-group-out, inner folds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glassline import DataError
from glassline.models import CVScheme, RepeatedGroupKFold, cross_validation_folds, inner_folds, paper_split


def test_paper_split_is_seeded_sorted_and_sized() -> None:
    train, test = paper_split(51, 0.2, seed=2023)
    assert len(test) == 11  # ceil(0.2 · 51), scikit-learn's rule
    assert len(train) + len(test) == 51
    assert not set(train) & set(test)
    assert list(test) == sorted(test)
    again = paper_split(51, 0.2, seed=2023)
    np.testing.assert_array_equal(test, again[1])
    assert not np.array_equal(test, paper_split(51, 0.2, seed=2024)[1])


def test_paper_split_needs_rows() -> None:
    with pytest.raises(DataError, match="at least 3 rows"):
        paper_split(2, 0.2, seed=0)


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=5, max_size=25),
    folds=st.integers(2, 5),
    repeats=st.integers(1, 3),
    seed=st.integers(0, 2**31),
)
def test_grouped_folds_never_put_one_group_on_both_sides(sizes: list[int], folds: int, repeats: int, seed: int) -> None:
    groups = np.repeat([f"g{i}" for i in range(len(sizes))], sizes)
    plan = cross_validation_folds(len(groups), groups, folds=folds, repeats=repeats, seed=seed)
    assert len(plan) == folds * repeats
    for repeat in range(repeats):
        seen = np.zeros(len(groups), dtype=int)
        for fold in (f for f in plan if f.repeat == repeat):
            assert not set(groups[fold.train]) & set(groups[fold.test])
            assert len(fold.train) + len(fold.test) == len(groups)
            assert len(fold.test) > 0
            seen[fold.test] += 1
        assert (seen == 1).all(), "every row is tested exactly once per repeat"
    assert cross_validation_folds(len(groups), groups, folds=folds, repeats=repeats, seed=seed)[0].test.tolist() == (
        plan[0].test.tolist()
    )


def test_repeats_reshuffle_the_groups() -> None:
    groups = np.repeat(np.arange(17), 3)
    plan = cross_validation_folds(51, groups, folds=5, repeats=3, seed=1)
    first = [frozenset(groups[f.test]) for f in plan if f.repeat == 0]
    second = [frozenset(groups[f.test]) for f in plan if f.repeat == 1]
    assert set(first) != set(second)


def test_repeated_group_kfold_is_a_splitter() -> None:
    groups = np.repeat(np.arange(10), 2)
    splitter = RepeatedGroupKFold(n_splits=5, n_repeats=2, random_state=0)
    splits = list(splitter.split(np.zeros((20, 1)), None, groups))
    assert splitter.get_n_splits() == len(splits) == 10
    with pytest.raises(ValueError, match="needs groups"):
        list(splitter.split(np.zeros((20, 1))))


def test_leave_one_group_out() -> None:
    groups = np.repeat(["a", "b", "c", "d"], [2, 3, 1, 2])
    plan = cross_validation_folds(8, groups, folds=5, repeats=5, seed=0, scheme=CVScheme.LOGO)
    assert len(plan) == 4
    assert sorted(len(set(groups[f.test])) for f in plan) == [1, 1, 1, 1]
    with pytest.raises(DataError, match="at least 3 groups"):
        cross_validation_folds(3, ["a", "a", "b"], folds=2, repeats=1, seed=0, scheme=CVScheme.LOGO)


def test_no_groups_falls_back_to_kfold_over_rows() -> None:
    plan = cross_validation_folds(20, None, folds=4, repeats=2, seed=0)
    assert len(plan) == 8
    for repeat in (0, 1):
        tested = np.concatenate([f.test for f in plan if f.repeat == repeat])
        assert sorted(tested) == list(range(20))


def test_too_few_groups_is_a_clear_error() -> None:
    groups = np.repeat(["a", "b", "c", "d"], 3)
    with pytest.raises(DataError, match=r"table.csv: grouped 5-fold cross-validation needs at least 5 groups, found 4"):
        cross_validation_folds(12, groups, folds=5, repeats=1, seed=0, where="table.csv")


def test_inner_folds_are_grouped_and_shrink_to_the_groups_available() -> None:
    groups = np.repeat(["a", "b"], 3)
    splits = inner_folds(6, groups, folds=3, seed=0)
    assert len(splits) == 2
    for train, test in splits:
        assert not set(groups[train]) & set(groups[test])
    with pytest.raises(DataError, match="at least 2 groups"):
        inner_folds(3, ["a", "a", "a"], folds=3, seed=0)
    assert len(inner_folds(10, None, folds=3, seed=0)) == 3
