"""Outlier rules against hand computation, and the cleaning log."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from glassline.data import CleaningLog, OutlierRule, flag_outliers, remove_outliers
from glassline.exceptions import DataError


def test_sd_rule_by_hand() -> None:
    # group A: 10, 11, 12, 30 → mean 15.75, sample SD = 9.639; band 15.75 ± 1.5·9.639 = [1.29, 30.21]: nothing out
    # group B: 10, 10, 10, 11, 20 → mean 12.2, SD 4.382; band [5.63, 18.77]: 20 is out
    frame = pd.DataFrame({"g": list("AAAABBBBB"), "y": [10, 11, 12, 30, 10, 10, 10, 11, 20]}, dtype=object)
    frame["y"] = frame["y"].astype(float)
    flags = flag_outliers(frame, "y", group="g", rule=OutlierRule("sd", 1.5, ddof=1))
    assert flags.tolist() == [False] * 8 + [True]
    sd = np.std([10, 10, 10, 11, 20], ddof=1)
    assert OutlierRule("sd", 1.5, ddof=1).bounds(np.array([10, 10, 10, 11, 20.0])) == pytest.approx(
        (12.2 - 1.5 * sd, 12.2 + 1.5 * sd)
    )


def test_population_sd_matches_scipy_zscore() -> None:
    from scipy.stats import zscore

    values = np.array([10.0, 11.0, 12.0, 30.0])  # four specimens, as in the paper
    expected = np.abs(zscore(values)) > 1.5
    flags = flag_outliers(pd.DataFrame({"y": values}), "y", group=None, rule=OutlierRule("sd", 1.5))
    assert flags.tolist() == expected.tolist() == [False, False, False, True]
    # with the sample SD no value of four can leave ±1.5 SD: (n − 1)/√n = 1.5
    assert not flag_outliers(pd.DataFrame({"y": values}), "y", group=None, rule=OutlierRule("sd", 1.5, ddof=1)).any()


def test_mad_rule_is_robust() -> None:
    # median 10, |dev| = 0,0,0,1,1,40 → MAD 0.5; band 10 ± 3.5·1.4826·0.5 = [7.41, 12.59]
    values = np.array([10, 10, 10, 11, 9, 50.0])
    low, high = OutlierRule("mad", 3.5).bounds(values)
    assert (low, high) == pytest.approx((10 - 3.5 * 1.4826 * 0.5, 10 + 3.5 * 1.4826 * 0.5))
    frame = pd.DataFrame({"y": values})
    assert flag_outliers(frame, "y", group=None, rule=OutlierRule("mad", 3.5)).tolist() == [False] * 5 + [True]


def test_k_zero_disables_and_small_groups_are_left_alone() -> None:
    frame = pd.DataFrame({"g": ["A", "A", "B", "B", "B"], "y": [1.0, 100.0, 1.0, 1.0, 50.0]})
    assert not flag_outliers(frame, "y", group="g", rule=OutlierRule("sd", 0)).any()
    flags = flag_outliers(frame, "y", group="g", rule=OutlierRule("sd", 1.0))
    assert flags.tolist() == [False, False, False, False, True]


def test_remove_logs_every_row(tmp_path: Path) -> None:
    frame = pd.DataFrame({"g": ["A"] * 5, "y": [10.0, 10.0, 10.0, 11.0, 20.0], "source_row": [2, 3, 4, 5, 6]})
    log = CleaningLog()
    kept = remove_outliers(
        frame, "y", group="g", rule=OutlierRule(), log=log, file="adhesion.csv", row_column="source_row"
    )
    assert len(kept) == 4
    assert len(log) == 1
    record = log.to_frame().iloc[0]
    assert record["file"] == "adhesion.csv"
    assert record["row"] == 6
    assert record["value"] == 20.0
    assert record["group"] == "A"
    assert "SD" in record["rule"]
    path = log.write(tmp_path / "cleaning_log.csv")
    assert list(pd.read_csv(path).columns) == ["file", "row", "column", "group", "rule", "value", "reason", "action"]
    assert log.counts() == {record["rule"]: 1}


def test_bad_rules() -> None:
    with pytest.raises(DataError, match="method"):
        OutlierRule("iqr")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="k must be"):
        OutlierRule("sd", -1)
    with pytest.raises(DataError, match="no column 'nope'"):
        flag_outliers(pd.DataFrame({"y": [1.0]}), "nope", group=None, rule=OutlierRule())


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=3, max_size=40), st.floats(0.1, 5))
def test_nothing_is_lost_silently(values: list[float], k: float) -> None:
    frame = pd.DataFrame({"y": values})
    log = CleaningLog()
    kept = remove_outliers(frame, "y", group=None, rule=OutlierRule("sd", k), log=log, file="f")
    assert len(kept) + len(log) == len(frame)
