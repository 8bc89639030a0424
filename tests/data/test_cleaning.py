"""Outlier rules against hand computation, and the cleaning log."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from glassline.data import CleaningLog, OutlierRule, flag_outliers, outlier_report, remove_outliers
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


# ---------------------------------------------------------------- the pooled rule (issue 14)
def _groups(rng: np.random.Generator, groups: int, n: int, *, relative: bool) -> pd.DataFrame:
    """*groups* configurations of *n* replicates with normal noise: absolute (SD 1) or relative (CV 5 %)."""
    if relative:
        level = np.repeat(rng.uniform(100.0, 300.0, groups), n)
        y = level * np.exp(0.05 * rng.standard_normal(groups * n))
    else:
        level = np.repeat(rng.uniform(0.0, 100.0, groups), n)
        y = level + rng.standard_normal(groups * n)
    return pd.DataFrame({"g": np.repeat(np.arange(groups), n), "y": y})


def _upper_bound(successes: int, trials: int, confidence: float = 0.99) -> float:
    from scipy.stats import beta

    return 1.0 if successes == trials else float(beta.ppf(confidence, successes + 1, trials - successes))


def _lower_bound(successes: int, trials: int, confidence: float = 0.99) -> float:
    from scipy.stats import beta

    return 0.0 if successes == 0 else float(beta.ppf(1.0 - confidence, successes, trials - successes + 1))


@pytest.mark.parametrize("n", [3, 4, 5])
@pytest.mark.parametrize("relative", [False, True])
def test_pooled_false_exclusion_rate_is_known_at_small_n(n: int, relative: bool) -> None:
    # the stated rate: at most 2·alpha per value under normal noise (measured 0.6-1.8·alpha at
    # alpha = 0.1 %). alpha = 0.2 % keeps the simulation small enough for a unit test; the bound still
    # fails a rule whose scale comes from the group's own values (the MAD rule removes 4-9 %).
    rng = np.random.default_rng(1400 + n + 10 * relative)
    rule = OutlierRule("pooled", alpha=0.002, scale="relative" if relative else "absolute")
    flagged = total = 0
    for _ in range(40):
        frame = _groups(rng, 40, n, relative=relative)
        flagged += int(flag_outliers(frame, "y", group="g", rule=rule).sum())
        total += len(frame)
    assert _lower_bound(flagged, total) < 2 * rule.alpha, f"{flagged} of {total} good values excluded"
    assert _upper_bound(flagged, total) > 0.25 * rule.alpha, f"only {flagged} of {total}: the cutoff is off"


@pytest.mark.parametrize("n", [3, 4, 5])
def test_mad_rule_on_small_groups_excludes_far_more_than_the_pooled_rule(n: int) -> None:
    rng = np.random.default_rng(2400 + n)
    frame = pd.concat([_groups(rng, 12, n, relative=True).assign(g=lambda f, r=r: f["g"] + 100 * r) for r in range(20)])
    frame = frame.reset_index(drop=True)
    mad = int(flag_outliers(frame, "y", group="g", rule=OutlierRule("mad", 3.5)).sum())
    pooled = int(flag_outliers(frame, "y", group="g", rule=OutlierRule("pooled")).sum())
    assert mad > 0.02 * len(frame)  # the defect of issue 14: a MAD of 3-5 values is noise
    assert pooled <= 0.002 * len(frame)


@pytest.mark.parametrize("n", [3, 4, 5])
def test_pooled_rule_catches_gross_outliers(n: int) -> None:
    # one value in a quarter of the groups shifted by 10 SD (a defective cell, a failed tape), and an
    # outlier in every group: the rule must catch them without taking good values along
    rng = np.random.default_rng(3400 + n)
    rule = OutlierRule("pooled", scale="absolute")
    for share, expected in ((0.25, 0.95), (1.0, 0.9 if n > 3 else 0.5)):
        caught = planted = wrong = good = 0
        for _ in range(40):
            frame = _groups(rng, 12, n, relative=False)
            chosen = rng.permutation(12)[: max(1, round(share * 12))]
            rows = chosen * n + rng.integers(0, n, len(chosen))
            frame.loc[rows, "y"] += 10.0 * rng.choice([-1.0, 1.0], len(rows))
            flags = flag_outliers(frame, "y", group="g", rule=rule).to_numpy()
            caught += int(flags[rows].sum())
            planted += len(rows)
            others = np.ones(len(frame), dtype=bool)
            others[rows] = False
            wrong += int(flags[others].sum())
            good += int(others.sum())
        assert caught / planted >= expected, f"share {share}: caught {caught} of {planted}"
        assert wrong <= 0.01 * good, f"share {share}: {wrong} of {good} good values excluded"


def test_pooled_reason_names_rule_scale_and_cutoff() -> None:
    frame = pd.DataFrame(
        {
            "g": np.repeat(["A", "B", "C", "D"], 4),
            "y": [10.0, 10.2, 9.8, 10.1, 20.0, 20.3, 19.9, 20.1, 30.0, 30.2, 29.7, 45.0, 5.0, 5.1, 4.9, 5.05],
            "source_row": np.arange(2, 18),
        }
    )
    log = CleaningLog()
    kept = remove_outliers(
        frame,
        "y",
        group="g",
        rule=OutlierRule("pooled", scale="absolute"),
        log=log,
        file="t.csv",
        row_column="source_row",
    )
    assert len(kept) == 15
    record = log.to_frame().iloc[0]
    assert record["row"] == 13
    assert record["value"] == 45.0
    assert record["group"] == "C"
    assert "pooled within-group scale" in record["rule"]
    assert "0.01 %" in record["rule"]
    assert "pooled within-group SD" in record["reason"]
    assert "the t cutoff for 0.01 % false exclusions per value" in record["reason"]
    assert "the other 3 values of its group" in record["reason"]
    report = outlier_report(frame, "y", group="g", rule=OutlierRule("pooled", scale="absolute"))
    low, high = report.loc[11, ["low", "high"]]
    assert low < 30.0 < high < 45.0


def test_pooled_relative_scale_follows_the_level() -> None:
    # CV 5 % at levels 10 and 1000: on the absolute scale the pooled SD is the large group's, and the
    # small group's 50 % outlier would hide; on the relative scale it is caught, and 'auto' sees that
    rng = np.random.default_rng(5)
    levels = np.repeat([10.0, 30.0, 100.0, 300.0, 1000.0, 20.0], 4)
    frame = pd.DataFrame({"g": np.repeat(np.arange(6), 4), "y": levels * np.exp(0.05 * rng.standard_normal(24))})
    frame.loc[0, "y"] = 5.0
    relative = flag_outliers(frame, "y", group="g", rule=OutlierRule("pooled", scale="relative"))
    absolute = flag_outliers(frame, "y", group="g", rule=OutlierRule("pooled", scale="absolute"))
    auto = flag_outliers(frame, "y", group="g", rule=OutlierRule("pooled"))
    assert relative.tolist() == [True] + [False] * 23
    assert not absolute.iloc[0]
    assert auto.tolist() == relative.tolist()
    with pytest.raises(DataError, match="scale 'relative' needs values > 0"):
        flag_outliers(frame.assign(y=frame["y"] - 50), "y", group="g", rule=OutlierRule("pooled", scale="relative"))


def test_pooled_rule_leaves_groups_without_spread_and_disabled_rules_alone() -> None:
    frame = pd.DataFrame({"g": np.repeat(["A", "B", "C"], 3), "y": [1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 3.0, 3.0, 9.0]})
    assert not flag_outliers(frame, "y", group="g", rule=OutlierRule("pooled")).any()
    assert not flag_outliers(frame, "y", group="g", rule=OutlierRule("pooled", alpha=0)).any()
    with pytest.raises(DataError, match="alpha must be"):
        OutlierRule("pooled", alpha=1.5)
    with pytest.raises(DataError, match="scale must be"):
        OutlierRule("pooled", scale="log")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="band per value"):
        OutlierRule("pooled").bounds(np.array([1.0, 2.0, 3.0]))


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=3, max_size=40))
def test_pooled_loses_nothing_silently(values: list[float]) -> None:
    frame = pd.DataFrame({"g": [i % 4 for i in range(len(values))], "y": values})
    log = CleaningLog()
    kept = remove_outliers(frame, "y", group="g", rule=OutlierRule("pooled"), log=log, file="f")
    assert len(kept) + len(log) == len(frame)
