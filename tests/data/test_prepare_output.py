"""``prepare`` writes its dataset whole or not at all; ``fit`` refuses a folder that is not a whole dataset."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomli_w
from test_prepare_tables import STUDY, toy_tables

from glassline import study_from_dict
from glassline.cli import main
from glassline.data import CleaningLog, PreparedDataset, prepare
from glassline.exceptions import DataError


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    return int(info.value.code or 0), capsys.readouterr().err


def _spec(tmp_path: Path) -> Path:
    spec = tmp_path / "study.toml"
    spec.write_text(tomli_w.dumps(STUDY), encoding="utf-8")
    return spec


def test_a_failed_write_leaves_no_folder(
    rng: np.random.Generator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = toy_tables(rng, tmp_path)

    def full_disk(self: CleaningLog, path: str | Path) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(CleaningLog, "write", full_disk)
    with pytest.raises(DataError, match=r"out: could not write the prepared dataset: No space left on device"):
        prepare(study_from_dict(STUDY), raw, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not [p.name for p in tmp_path.iterdir() if "partial" in p.name]


def test_a_failed_prepare_keeps_the_previous_dataset(rng: np.random.Generator, tmp_path: Path) -> None:
    study = study_from_dict(STUDY)
    raw = toy_tables(rng, tmp_path)
    first = prepare(study, raw, tmp_path / "out")
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    frame = pd.read_csv(raw / "specimen.csv")
    frame.assign(temp=frame["temp"].astype(object).where(frame.index != 4, "hot")).to_csv(
        raw / "specimen.csv", index=False
    )
    with pytest.raises(DataError, match="found 'hot'"):
        prepare(study, raw, tmp_path / "out")
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == before
    # a successful run replaces the dataset as a whole
    frame.to_csv(raw / "specimen.csv", index=False)
    again = prepare(study, raw, tmp_path / "out")
    assert again.summary() == first.summary()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "raw"]


def test_a_folder_of_other_files_is_not_replaced(rng: np.random.Generator, tmp_path: Path) -> None:
    raw = toy_tables(rng, tmp_path)
    keep = tmp_path / "mine"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(DataError, match=r"mine: the folder holds files and is not a prepared dataset"):
        prepare(study_from_dict(STUDY), raw, keep)
    assert (keep / "notes.txt").read_text(encoding="utf-8") == "mine"
    with pytest.raises(DataError, match=r"the output folder holds the raw folder"):
        prepare(study_from_dict(STUDY), raw, tmp_path)


@pytest.mark.parametrize("target", ["afile", "afile/ds"])
def test_out_path_through_a_file_is_one_line(
    rng: np.random.Generator, tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    raw = toy_tables(rng, tmp_path)
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    out = tmp_path / target
    code, err = run(["prepare", str(_spec(tmp_path)), "--raw", str(raw), "--out", str(out), "--quiet"], capsys)
    assert code == 1
    assert err.startswith("error: ")
    assert str(tmp_path / "afile") in err
    assert "is a file" in err
    assert "internal error" not in err
    assert len(err.strip().splitlines()) == 1
    with pytest.raises(DataError, match="is a file"):
        prepare(study_from_dict(STUDY), raw, out)


def _half_written(rng: np.random.Generator, tmp_path: Path) -> Path:
    raw = toy_tables(rng, tmp_path)
    ds = tmp_path / "ds"
    prepare(study_from_dict(STUDY), raw, ds)
    (ds / "metadata.json").unlink()  # what an interrupted write of the old writer left
    return ds


def test_fit_refuses_a_dataset_without_its_metadata(
    rng: np.random.Generator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ds = _half_written(rng, tmp_path)
    code, err = run(["fit", str(_spec(tmp_path)), "--data", str(ds), "--out", str(tmp_path / "res"), "-q"], capsys)
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert f"{ds}: " in err
    assert "metadata.json is missing" in err
    assert not (tmp_path / "res").exists()
    with pytest.raises(DataError, match=r"ds: not a prepared dataset: metadata.json is missing"):
        PreparedDataset.load(ds)


def test_fit_refuses_an_unfinished_staging_folder(rng: np.random.Generator, tmp_path: Path) -> None:
    from glassline.models import compare

    ds = _half_written(rng, tmp_path)
    (ds / "cleaning_log.csv").unlink()
    staging = ds.rename(tmp_path / ".ds.partial-1234")
    with pytest.raises(DataError, match=r"\.ds\.partial-1234: not a complete prepared dataset"):
        compare(study_from_dict(STUDY), staging)


def test_load_refuses_metadata_without_levels(rng: np.random.Generator, tmp_path: Path) -> None:
    ds = _half_written(rng, tmp_path)
    (ds / "metadata.json").write_text(json.dumps({"study": "x"}), encoding="utf-8")
    with pytest.raises(DataError, match=r'metadata.json: expected a "levels" entry'):
        PreparedDataset.load(ds)
