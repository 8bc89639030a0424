"""The dataset says whether its data came from a simulated line: the raw manifest's ``simulated``, copied by prepare."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from glassline import study_from_dict
from glassline.data import prepare
from glassline.domains import DomainPack, register_domain, unregister_domain
from glassline.exceptions import DataError

STUDY: dict[str, Any] = {
    "name": "toy line",
    "seed": 1,
    "factors": [{"name": "speed", "unit": "m/min", "low": 1, "high": 3}],
    "responses": [{"name": "strength", "unit": "kPa", "level": "specimen"}],
    "data": {"group": "configuration"},
}


def toy_tables(rng: np.random.Generator, tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    rows = pd.DataFrame({"configuration": np.repeat(["C0", "C1", "C2"], 3), "speed": np.repeat([1.0, 2.0, 3.0], 3)})
    rows["strength"] = 300 - 10 * rows["speed"] + rng.normal(0, 1, len(rows))
    rows.to_csv(raw / "specimen.csv", index=False)
    return raw


def test_a_tables_folder_is_not_simulated(rng: np.random.Generator, tmp_path: Path) -> None:
    prepare(study_from_dict(STUDY), toy_tables(rng, tmp_path), tmp_path / "out")
    assert json.loads((tmp_path / "out" / "metadata.json").read_text(encoding="utf-8"))["simulated"] is False


@pytest.fixture
def tables_pack() -> Iterator[DomainPack]:
    """A pack whose layout reads the plain tables (so a manifest can name it)."""
    from glassline.data._prepare import _tables_layout

    pack = register_domain(DomainPack(name="provenance_test", prepare=_tables_layout))
    yield pack
    unregister_domain(pack.name)


@pytest.mark.parametrize(("value", "expected"), [(True, True), (False, False)])
def test_the_manifest_says_simulated(
    rng: np.random.Generator, tmp_path: Path, tables_pack: DomainPack, value: bool, expected: bool
) -> None:
    raw = toy_tables(rng, tmp_path)
    (raw / "manifest.json").write_text(json.dumps({"layout": "provenance_test", "simulated": value}), encoding="utf-8")
    prepare(study_from_dict(STUDY), raw, tmp_path / "out")
    assert json.loads((tmp_path / "out" / "metadata.json").read_text(encoding="utf-8"))["simulated"] is expected


def test_a_simulated_flag_that_is_not_a_bool_is_named(
    rng: np.random.Generator, tmp_path: Path, tables_pack: DomainPack
) -> None:
    raw = toy_tables(rng, tmp_path)
    (raw / "manifest.json").write_text(json.dumps({"layout": "provenance_test", "simulated": "yes"}), encoding="utf-8")
    with pytest.raises(DataError, match=r'manifest.json: field "simulated" must be true or false, got \'yes\''):
        prepare(study_from_dict(STUDY), raw, tmp_path / "out")
