"""The validity domain's calibrated distance check in 5- and 6-input studies designed with glassline.design.

Each study's design leaves a region of the box empty (no configuration has x1 + x2 > 1 in range-scaled units);
a point there lies inside every range but must be flagged. Held-out configurations must be flagged at about
the stated level: checked with a binomial test over independent seeded designs, so a threshold that is too
large (the old rule flagged almost none) or too small fails.
"""

from __future__ import annotations

import itertools
import math
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import uvicorn
from scipy.stats import binomtest

from glassline.design import latin_hypercube
from glassline.exceptions import DataError, SpecError
from glassline.registry import DISTANCE_LEVEL, LoadedModel, ValidityDomain
from glassline.serve import ServiceConfig, create_app
from glassline.spec import Study, study_from_dict

#: low, high, unit of the factors (cycled): different widths and units, so range scaling matters
FACTORS = ((8.2, 11.2, "mg/cm²"), (50.0, 65.0, "°C"), (25.0, 40.0, "%"), (0.5, 3.0, "m/min"), (100.0, 400.0, "µm"))


def study_of(k: int) -> Study:
    factors = [
        {"name": f"x{i + 1}", "low": lo, "high": hi, "unit": unit}
        for i, (lo, hi, unit) in zip(range(k), itertools.cycle(FACTORS), strict=False)
    ]
    return study_from_dict(
        {
            "name": f"{k}-input study",
            "seed": 5,
            "factors": factors,
            "responses": [{"name": "y", "unit": "kPa"}],
            "scenarios": {"factors": [f["name"] for f in factors]},
            "data": {"group": "configuration"},
        }
    )


def bounds(study: Study) -> tuple[np.ndarray, np.ndarray]:
    return np.array([f.low for f in study.factors], dtype=float), np.array([f.high for f in study.factors])


def designed_table(
    study: Study, runs: int, seed: int, *, empty_region: bool = True, replicates: int = 2
) -> pd.DataFrame:
    """A Latin-hypercube design (optionally without x1 + x2 > 1), *replicates* rows per configuration and a
    smooth simulated response."""
    names = [f.name for f in study.factors]
    points = latin_hypercube(study, runs, seed=seed).real.loc[:, names].to_numpy(dtype=float)
    low, high = bounds(study)
    unit = (points - low) / (high - low)
    if empty_region:
        points, unit = points[unit[:, 0] + unit[:, 1] <= 1.0], unit[unit[:, 0] + unit[:, 1] <= 1.0]
    rng = np.random.default_rng(seed)
    rows = []
    for c, (point, u) in enumerate(zip(points, unit, strict=True)):
        mean = 3.0 * u[0] - 2.0 * u[1] ** 2 + np.sin(2.0 * u[2]) + 0.5 * u[0] * u[-1]
        for _ in range(replicates):
            rows.append(
                {"configuration": f"C{c:02d}", **dict(zip(names, point, strict=True)), "y": mean + rng.normal(0, 0.05)}
            )
    return pd.DataFrame(rows)


def domain_of(study: Study, table: pd.DataFrame, level: float = DISTANCE_LEVEL) -> ValidityDomain:
    names = [f.name for f in study.factors]
    return ValidityDomain.from_training(study, table.loc[:, names], groups=table["configuration"], level=level)


def empty_point(study: Study) -> np.ndarray:
    """x1 and x2 at their high ends, every other input mid-range: inside the box, in the empty region."""
    low, high = bounds(study)
    point = (low + high) / 2
    point[:2] = high[:2]
    return point[None, :]


@pytest.mark.parametrize(("k", "runs"), [(5, 40), (6, 48)])
def test_a_point_in_an_empty_region_of_the_box_is_flagged(k: int, runs: int) -> None:
    study = study_of(k)
    for seed in range(3):
        table = designed_table(study, runs, seed)
        domain = domain_of(study, table)
        (verdict,) = domain.check(empty_point(study))
        assert not verdict.inside, f"seed {seed}: distance {verdict.distance:.3g} ≤ threshold {domain.threshold:.3g}"
        assert [v.kind for v in verdict.violations] == ["distance"]  # inside every range: the distance says it
        training = table.loc[:, domain.inputs].to_numpy()
        assert all(v.inside for v in domain.check(training))  # points at training rows are never flagged
        assert all(v.distance == 0.0 for v in domain.check(training))
        assert [r.source for r in domain.ranges] == ["study"] * k


@pytest.mark.slow  # 120 designs per study: about 40 s each
@pytest.mark.parametrize(("k", "runs"), [(5, 30), (6, 36)])
def test_held_out_configurations_are_flagged_at_about_the_stated_level(k: int, runs: int) -> None:
    """Independent seeded designs; in each, one configuration (chosen at random) is held out and the domain is
    built on the rest: the count flagged must fit Binomial(designs, α) (two-sided test at 0.001)."""
    study = study_of(k)
    level, designs = 0.2, 120
    rng = np.random.default_rng(2026 + k)
    flagged = 0
    for seed in range(designs):
        table = designed_table(study, runs, seed, empty_region=False)
        held = rng.choice(table["configuration"].unique())
        rest = table[table["configuration"] != held]
        domain = domain_of(study, rest, level=level)
        assert domain.distance.level_reached is not None
        assert domain.distance.level_reached <= level
        verdicts = domain.check(table.loc[table["configuration"] == held, domain.inputs].to_numpy())
        flagged += not verdicts[0].inside
    test = binomtest(flagged, designs, level)
    assert test.pvalue > 0.001, f"{flagged} of {designs} held-out configurations flagged at level {level}"


def test_replicates_never_calibrate_against_each_other() -> None:
    """A configuration measured under two labels (rows with identical inputs) is one configuration: otherwise its
    held-out rows would find their twin at distance 0 and the threshold would collapse."""
    study = study_of(5)
    table = designed_table(study, 30, 0, empty_region=False, replicates=2)
    twin = table.copy()
    twin["configuration"] = twin["configuration"] + "-again"
    both = pd.concat([table, twin], ignore_index=True)
    once, twice = domain_of(study, table), domain_of(study, both)
    assert twice.distance.configurations == once.distance.configurations == table["configuration"].nunique()
    assert twice.threshold == pytest.approx(once.threshold)
    assert twice.threshold > 0


def test_few_configurations_state_the_level_they_reach() -> None:
    study = study_of(5)
    table = designed_table(study, 5, 1, empty_region=False)
    table = table[table["configuration"].isin(["C00", "C01", "C02"])]
    domain = domain_of(study, table, level=0.05)
    check = domain.distance
    assert check.configurations == 3
    assert check.level == 0.05
    assert check.level_reached == pytest.approx(1 / 4)
    assert "cannot be reached with 3 configurations" in check.note
    assert "1/(n+1) = 0.25" in check.note


def test_the_level_is_reached_exactly_when_n_allows_it() -> None:
    """(n+1)(1−α) = 19.000000000000004 for n = 19, α = 0.05: k is 19 (floating point must not make it 20)."""
    study = study_of(5)
    table = designed_table(study, 19, 3, empty_region=False)
    domain = domain_of(study, table, level=0.05)
    assert domain.distance.configurations == 19
    assert domain.distance.level_reached == pytest.approx(0.05)
    assert "cannot be reached" not in domain.distance.note


def test_one_configuration_is_refused_with_a_clear_message() -> None:
    study = study_of(5)
    table = designed_table(study, 5, 1, empty_region=False, replicates=3)
    table = table[table["configuration"] == "C00"]
    with pytest.raises(DataError, match=r"hold 1 configuration; the distance check .* needs at least 2"):
        domain_of(study, table)


@pytest.mark.parametrize("level", [0.0, 1.0, 1.5, -0.1, math.nan, True])
def test_a_level_outside_0_1_is_refused(level: float) -> None:
    study = study_of(5)
    table = designed_table(study, 10, 1, empty_region=False)
    with pytest.raises(SpecError, match="distance level: expected a number between 0 and 1"):
        domain_of(study, table, level=level)


def test_a_constant_measured_input_keeps_the_distance_finite() -> None:
    study = study_of(5)
    table = designed_table(study, 20, 2, empty_region=False)
    table["line_speed"] = 2.0  # a measured input that never moved
    names = [*domain_of(study, table).inputs, "line_speed"]
    domain = ValidityDomain.from_training(study, table.loc[:, names], groups=table["configuration"])
    assert domain.range_of("line_speed").source == "training data"
    assert math.isfinite(domain.threshold)
    assert domain.threshold > 0
    rows = table.loc[:, names].to_numpy()
    assert all(v.inside for v in domain.check(rows))
    moved = rows[:1].copy()
    moved[0, -1] = 2.5
    (verdict,) = domain.check(moved)
    assert verdict.violations[0].input == "line_speed"
    assert verdict.violations[0].kind == "above"


def test_a_non_finite_training_value_is_named() -> None:
    study = study_of(5)
    table = designed_table(study, 10, 1, empty_region=False)
    table.loc[3, "x2"] = np.nan
    with pytest.raises(DataError, match=r"training row 3, column 'x2': expected a finite number, got nan"):
        domain_of(study, table)


def test_range_scaling_makes_the_distance_independent_of_units() -> None:
    """The same design in other units (°C → K, mg/cm² → g/m²) gives the same distances and threshold."""
    study = study_of(5)
    table = designed_table(study, 30, 4, empty_region=False)
    domain = domain_of(study, table)
    factor = np.array([10.0, 1.0, 1.0, 1.0, 1.0])
    offset = np.array([0.0, 273.15, 0.0, 0.0, 0.0])
    raw = study.model_dump(mode="json")
    for f, a, b in zip(raw["factors"], factor, offset, strict=True):
        f["low"], f["high"] = f["low"] * a + b, f["high"] * a + b
    other = study_from_dict(raw)
    converted = table.copy()
    converted.loc[:, domain.inputs] = table.loc[:, domain.inputs].to_numpy() * factor + offset
    again = domain_of(other, converted)
    assert again.threshold == pytest.approx(domain.threshold, rel=1e-9)
    probe = empty_point(study)
    assert again.distances(probe * factor + offset)[0] == pytest.approx(domain.distances(probe)[0], rel=1e-9)


# ---------------------------------------------------------------- published and served
@contextmanager
def serving(model: LoadedModel, config: ServiceConfig) -> Iterator[str]:
    """The service of *model* under uvicorn in a thread on a free loopback port; yields the base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(create_app(model, config), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def published_5(tmp_path_factory: pytest.TempPathFactory, home: Path) -> LoadedModel:
    """A 5-input study with an empty region, fitted (mlr) and published at the default level."""
    from glassline.models import compare
    from glassline.registry import load_model, publish

    raw = study_of(5).model_dump(mode="json")
    raw["split"] = {"test_fraction": 0.2, "cv_folds": 4, "cv_repeats": 1}
    study = study_from_dict(raw)
    folder = tmp_path_factory.mktemp("five")
    table = designed_table(study, 40, 11)
    compare(study, table, families=["mlr"], targets=["y"], n_jobs=1).write(folder, plots=False)
    p = publish(folder, "y", "factors", family="mlr", name="five-inputs", study=study, home=home)
    return load_model(f"{p.name}/{p.version}", home=home)


def test_a_published_model_calibrates_on_its_configurations(published_5: LoadedModel) -> None:
    bundle = published_5.bundle
    domain = bundle.domain
    check = domain.distance
    train_rows = bundle.lineage["n_train"]
    assert check.kind == "nearest training row, range-scaled"
    assert check.level == DISTANCE_LEVEL
    # the configurations come from the results folder's group labels: fewer than the training rows (replicates)
    assert check.configurations is not None
    assert check.configurations < train_rows
    (verdict,) = domain.check(empty_point(bundle.study))
    assert not verdict.inside
    assert "leave-one-configuration-out split-conformal quantile" in bundle.card
    assert "'study' ranges are the study's factor low/high" in bundle.card


def test_the_answer_and_the_model_page_state_the_box_and_the_distance(published_5: LoadedModel, tmp_path: Path) -> None:
    from glassline.audit import Role
    from glassline.serve import Fallback, ServiceConfig

    domain = published_5.bundle.domain
    config = ServiceConfig(
        db_url=f"sqlite:///{(tmp_path / 'glassline.db').as_posix()}", fallback=Fallback.flag, anonymous_role=Role.admin
    )
    inside = dict(zip(domain.inputs, published_5.bundle.background.iloc[0].tolist(), strict=True))
    far = dict(zip(domain.inputs, empty_point(published_5.bundle.study)[0].tolist(), strict=True))
    with serving(published_5, config) as url, httpx.Client(base_url=url, timeout=30) as client:
        answer = client.post("/v1/predict", json={"rows": [inside, far]})
        page = client.get(f"/v1/models/{published_5.name}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    stated = body["domain"]
    assert [b["source"] for b in stated["box"]] == ["study"] * 5
    assert [b["name"] for b in stated["box"]] == domain.inputs
    assert stated["box"][1] == {"name": "x2", "low": 50.0, "high": 65.0, "unit": "°C", "source": "study"}
    assert stated["distance"]["threshold"] == domain.threshold
    assert stated["distance"]["level"] == DISTANCE_LEVEL
    assert stated["distance"]["kind"] == "nearest training row, range-scaled"
    assert body["results"][0]["domain"]["inside"] is True
    far_verdict = body["results"][1]["domain"]
    assert far_verdict["inside"] is False
    assert far_verdict["violations"][0]["limit"] == domain.threshold
    assert page.status_code == 200, page.text
    model_domain = page.json()["domain"]
    assert model_domain["distance"] == stated["distance"]
    assert model_domain["box"] == stated["box"]
    assert model_domain["distance_threshold"] == domain.threshold
