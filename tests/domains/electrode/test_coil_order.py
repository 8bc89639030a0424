"""The electrode line's run order: the coil position in the prepared tables, and the warning it gives.

The simulator coats the segments in dryer-temperature order along one coil (and the slurry's solids drift
along it), so the second-dryer temperature moved with the coil position: the prepared tables carry
``coil_position``, the shipped study names it as ``[data] order``, and the explanations warn that the
temperature's effect cannot be told apart from a drift along the coil.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from glassline import Study, load_study
from glassline.data import PreparedDataset, prepare
from glassline.domains.electrode.simulator import PAPER_DESIGN, simulate_line
from glassline.explain import Explanations, explain
from glassline.models import compare

#: the prepared levels that hold rows of the study's responses (each must carry the coil position)
LEVELS = (
    "inline",
    "configurations",
    "specimen",
    "symmetric_cell",
    "full_cell",
    "specimen_uncalendered",
    "symmetric_cell_uncalendered",
)


@pytest.fixture(scope="module")
def electrode_study(electrode_study_path: Path) -> Study:
    return load_study(electrode_study_path)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory, electrode_study: Study) -> PreparedDataset:
    raw = tmp_path_factory.mktemp("raw")
    simulate_line(PAPER_DESIGN, raw, seed=2023)
    return prepare(electrode_study, raw, tmp_path_factory.mktemp("dataset"))


@pytest.fixture(scope="module")
def outcome(dataset: PreparedDataset, electrode_study: Study, tmp_path_factory: pytest.TempPathFactory) -> Explanations:
    folder = tmp_path_factory.mktemp("results")
    comparison = compare(
        electrode_study, dataset, targets=["adhesion_strength", "electrode_mass_loading"], families=["mlr"], n_jobs=1
    )
    comparison.write(folder, plots=False)
    return explain(folder, plots=False, influence=False)


def test_the_shipped_study_names_the_coil_position_as_its_order(electrode_study: Study) -> None:
    assert electrode_study.data.order == "coil_position"


def test_every_response_table_carries_the_coil_position(dataset: PreparedDataset) -> None:
    for level in LEVELS:
        table = dataset.tables[level]
        assert "coil_position" in table.columns, level
        assert table["coil_position"].notna().all(), level
    inline = dataset.tables["inline"]
    assert ((inline["start_m"] <= inline["coil_position"]) & (inline["coil_position"] <= inline["end_m"])).all()


def test_the_segments_lie_along_the_coil_in_their_coating_order(dataset: PreparedDataset) -> None:
    """Segment S01 is coated first: the coil position rises with the segment number, in every table."""
    for level in LEVELS:
        table = dataset.tables[level]
        if "segment" not in table.columns:
            continue
        position = table.groupby("segment")["coil_position"].mean().sort_index()
        assert np.all(np.diff(position.to_numpy()) > 0), level


def test_the_dryer_temperature_moved_with_the_coil(dataset: PreparedDataset) -> None:
    configs = dataset.tables["configurations"]
    rho = configs["drying_temperature"].rank().corr(configs["coil_position"].rank())
    assert rho > 0.9


def test_the_explanations_warn_that_the_temperature_moved_with_the_coil(outcome: Explanations) -> None:
    warned = outcome.warnings[outcome.warnings["kind"] == "confounded_with_order"]
    for target in ("adhesion_strength", "electrode_mass_loading"):
        lead = outcome.lead[target]
        rows = warned[(warned["target"] == target) & (warned["scenario"] == lead.scenario)]
        assert "drying_temperature" in set(rows["factor"]), target
        assert set(rows["factor"]) <= set(lead.inputs)
        message = str(rows.loc[rows["factor"] == "drying_temperature", "message"].iloc[0])
        assert message.startswith("Second-dryer temperature moved with coil position")
        statements = " ".join(outcome.narratives[target]["statements"])
        assert "second-dryer temperature moved with coil position" in statements
        assert "cannot be told apart from a drift along coil position" in statements
    # the porosity after calendering was set independently of the coil order (two porosities per segment)
    assert "porosity" not in set(warned["factor"])
