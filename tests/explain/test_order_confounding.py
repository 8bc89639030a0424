"""Confounding with run order: ``[data] order`` and the ``confounded_with_order`` warning.

A generic study (not the electrode simulator): 12 configurations × 3 replicates in 3 factors, a run
number per row and a drift along the runs that no factor causes. When x1 is set in run order (its
configurations run from low to high), x1 gets the warning and the narrative hedges it; when the same
runs are made in a random order, no factor is flagged. Over many seeded random orders the rate of flags
stays within the stated :data:`ORDER_ALPHA` (a binomial bound).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from glassline import load_study
from glassline.exceptions import DataError, SpecError
from glassline.explain import ORDER_ALPHA, ORDER_RHO_LIMIT, WARNING_COLUMNS, Explanations, explain, order_checks
from glassline.models import compare
from glassline.spec import study_from_dict

FACTORS = ("x1", "x2", "x3")
N_CONFIG = 12
REPLICATES = 3

STUDY_TOML = (
    '\nname = "run order"\nseed = 3\n'
    + "".join(f'\n[[factors]]\nname = "{f}"\nlow = 0.0\nhigh = 1.0\n' for f in FACTORS)
    + """
[[responses]]
name = "y"
label = "Peel strength"
unit = "kPa"

[data]
group = "configuration"
order = "run"

[split]
test_fraction = 0.2
cv_folds = 4
cv_repeats = 1
"""
)


def line_table(*, in_run_order: bool, seed: int = 7) -> pd.DataFrame:
    """The runs of 12 configurations, made either with x1 in run order or in a random order.

    The response has effects of x2 and x3 and a drift of 0.05 per run that none of the factors causes.
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, size=(N_CONFIG, len(FACTORS)))
    configs = np.argsort(x[:, 0]) if in_run_order else rng.permutation(N_CONFIG)
    rows: list[dict[str, Any]] = []
    for c in configs:
        for _ in range(REPLICATES):
            run = len(rows) + 1
            x1, x2, x3 = x[c]
            y = 2.0 * x2 - 1.0 * x3 + 0.05 * run + rng.normal(0.0, 0.05)
            rows.append({"configuration": f"C{c + 1:02d}", "run": run, "x1": x1, "x2": x2, "x3": x3, "y": y})
    return pd.DataFrame(rows)


def _explained(folder: Path, table: pd.DataFrame) -> Explanations:
    (folder / "study.toml").write_text(STUDY_TOML, encoding="utf-8")
    study = load_study(folder / "study.toml")
    comparison = compare(study, table, families=["mlr"], n_jobs=1)
    comparison.write(folder / "results", plots=False)
    return explain(folder / "results", plots=False, influence=False)


@pytest.fixture(scope="module")
def in_order(tmp_path_factory: pytest.TempPathFactory) -> Explanations:
    return _explained(tmp_path_factory.mktemp("in_order"), line_table(in_run_order=True))


@pytest.fixture(scope="module")
def randomised(tmp_path_factory: pytest.TempPathFactory) -> Explanations:
    return _explained(tmp_path_factory.mktemp("randomised"), line_table(in_run_order=False))


def _confounded(outcome: Explanations) -> pd.DataFrame:
    return outcome.warnings[outcome.warnings["kind"] == "confounded_with_order"]


def test_a_factor_set_in_run_order_is_warned(in_order: Explanations) -> None:
    rows = _confounded(in_order)
    assert list(rows["factor"]) == ["x1"]
    assert list(rows.columns) == WARNING_COLUMNS
    message = str(rows["message"].iloc[0])
    assert "12 configurations" in message
    assert "cannot be told apart from a drift along run" in message


def test_the_warning_is_written_and_the_narrative_hedges_it(in_order: Explanations, tmp_path: Path) -> None:
    in_order.write(tmp_path / "out", plots=False)
    written = pd.read_csv(tmp_path / "out" / "warnings.csv", keep_default_na=False)
    assert ("x1", "confounded_with_order") in set(zip(written["factor"], written["kind"], strict=True))
    story = in_order.narratives["y"]
    hedges = [s for s in story["statements"] if "confounded_with_order" in s]
    assert hedges == [
        "Read with care: x1 moved with run in these data (confounded_with_order warning): its effect cannot be "
        "told apart from a drift along run."
    ]
    effects = {e["feature"]: e["confounded_with_order"] for e in story["effects"]}
    assert effects == {"x1": True, "x2": False, "x3": False}
    assert any(w["kind"] == "confounded_with_order" for w in story["warnings"])


def test_the_same_runs_in_a_random_order_are_not_warned(randomised: Explanations) -> None:
    assert _confounded(randomised).empty
    assert not any("confounded_with_order" in s for s in randomised.narratives["y"]["statements"])


def test_random_orders_are_flagged_at_most_at_the_stated_rate() -> None:
    """Seeded random run orders of 12 configurations × 2 replicates at three levels (ties, like a dryer's
    set points): the count of flags stays below the 99.99 % quantile of Binomial(n, ORDER_ALPHA)."""
    rng = np.random.default_rng(20261202)
    repetitions = 300
    levels = np.repeat([50.0, 57.5, 65.0], 4)
    groups = pd.Series(np.repeat([f"C{c:02d}" for c in range(N_CONFIG)], 2))
    setting = pd.DataFrame({"t": np.repeat(levels, 2)})
    flagged = 0
    for k in range(repetitions):
        order = pd.Series(rng.permutation(len(setting)).astype(float))
        flagged += int(order_checks(setting, order, groups, seed=k)[0].confounded)
    bound = int(stats.binom.ppf(0.9999, repetitions, ORDER_ALPHA))
    assert flagged <= bound, f"{flagged} of {repetitions} random orders flagged; expected at most {bound}"


def test_set_in_order_is_always_flagged_and_the_rule_needs_both_limits() -> None:
    groups = pd.Series(np.repeat([f"C{c:02d}" for c in range(N_CONFIG)], 2))
    levels = pd.DataFrame({"t": np.repeat(np.repeat([50.0, 57.5, 65.0], 4), 2)})
    check = order_checks(levels, pd.Series(np.arange(len(levels), dtype=float)), groups)[0]
    assert check.n_configurations == N_CONFIG
    assert check.rho > 0.9
    assert check.confounded
    # four configurations in perfect order: ρ = 1, but 2 of the 24 orders are as extreme (p = 1/12)
    four = order_checks(pd.DataFrame({"t": [1.0, 2.0, 3.0, 4.0]}), pd.Series([1.0, 2.0, 3.0, 4.0]))[0]
    assert four.rho == pytest.approx(1.0)
    assert four.p_value == pytest.approx(2 / 24)
    assert not four.confounded
    # many configurations with a weak, "significant" correlation: below the |ρ| limit, not flagged
    rng = np.random.default_rng(1)
    n = 2000
    order = np.arange(n, dtype=float)
    weak = 0.3 * (order / n) + rng.uniform(0.0, 1.0, n)
    check = order_checks(pd.DataFrame({"t": weak}), pd.Series(order))[0]
    assert check.p_value <= ORDER_ALPHA
    assert abs(check.rho) < ORDER_RHO_LIMIT
    assert not check.confounded
    # a constant factor has no correlation
    assert not order_checks(pd.DataFrame({"t": [1.0] * 5}), pd.Series(np.arange(5.0)))[0].confounded


def test_an_unknown_order_column_is_one_located_error_with_a_hint(tmp_path: Path) -> None:
    (tmp_path / "study.toml").write_text(STUDY_TOML.replace('order = "run"', 'order = "runs"'), encoding="utf-8")
    study = load_study(tmp_path / "study.toml")
    with pytest.raises(DataError, match=r"\(\[data\] order\): missing column 'runs'.*Did you mean 'run'"):
        compare(study, line_table(in_run_order=True), families=["mlr"], n_jobs=1)


def test_a_non_numeric_order_is_one_located_error(tmp_path: Path) -> None:
    (tmp_path / "study.toml").write_text(STUDY_TOML, encoding="utf-8")
    study = load_study(tmp_path / "study.toml")
    table = line_table(in_run_order=True).astype({"run": object})
    table.loc[4, "run"] = "fifth"
    with pytest.raises(DataError, match=r"row 6, column 'run': expected a number, found 'fifth'"):
        compare(study, table, families=["mlr"], n_jobs=1)
    table.loc[4, "run"] = ""
    with pytest.raises(DataError, match=r"row 6, column 'run' \(\[data\] order\): expected the run order"):
        compare(study, table, families=["mlr"], n_jobs=1)


@pytest.mark.parametrize(
    ("order", "message"),
    [("x1", r"data\.order.*'x1' is also a factors name"), ("configuration", r"data\.order.*the group column")],
)
def test_the_order_cannot_be_a_factor_or_the_group(order: str, message: str) -> None:
    spec = {
        "name": "s",
        "factors": [{"name": "x1", "low": 0, "high": 1}],
        "responses": [{"name": "y"}],
        "data": {"group": "configuration", "order": order},
    }
    with pytest.raises(SpecError, match=message):
        study_from_dict(spec)


def test_without_an_order_column_nothing_is_checked(tmp_path: Path) -> None:
    (tmp_path / "study.toml").write_text(STUDY_TOML.replace('order = "run"\n', ""), encoding="utf-8")
    study = load_study(tmp_path / "study.toml")
    comparison = compare(study, line_table(in_run_order=True), families=["mlr"], n_jobs=1)
    assert "order" not in comparison.predictions.columns
    outcome = explain(comparison, out_dir=tmp_path / "explanations", plots=False, influence=False)
    assert _confounded(outcome).empty
