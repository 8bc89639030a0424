"""Which study a results folder belongs to: the copy it keeps, the file run.json records, then the fallbacks."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from glassline import Study, load_study, write_study
from glassline.exceptions import SpecError
from glassline.models import Comparison, resolve_study
from glassline.models._study_file import record_study


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def toy(toy_line: tuple[Path, Path]) -> Callable[..., Study]:
    """The toy line's study, renamed when asked."""
    study = load_study(toy_line[0])
    return lambda name=study.name: study.model_copy(update={"name": name})


def results_folder(tmp_path: Path, study_file: Path | None, study: Study | None = None) -> Path:
    """A results folder with only what resolution reads: run.json (as Comparison.write records it) and the copy."""
    folder = tmp_path / "study" / "results"
    folder.mkdir(parents=True)
    recorded = record_study(folder, study=study, study_file=study_file)
    name = study.name if study is not None else load_study(study_file).name if study_file else "unknown"
    (folder / "run.json").write_text(json.dumps({"study": name, **recorded}), encoding="utf-8")
    return folder


def test_the_copy_is_byte_for_byte_and_run_json_records_it(tmp_path: Path, toy: Callable[..., Study]) -> None:
    original = write_study(toy(), tmp_path / "mine.toml")
    original.write_text("# my comment\n" + original.read_text(encoding="utf-8"), encoding="utf-8")
    folder = results_folder(tmp_path, original)
    run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert (folder / "study.toml").read_bytes() == original.read_bytes()
    assert run["study_file"] == str(original.resolve())
    assert run["study_sha256"] == sha(original)
    found = resolve_study(folder)
    assert found.path == folder / "study.toml"
    assert found.study == toy()
    assert found.text is not None
    assert found.text.startswith("# my comment")


def test_an_in_memory_study_is_written_and_recorded_without_a_file(tmp_path: Path, toy: Callable[..., Study]) -> None:
    folder = results_folder(tmp_path, None, toy())
    run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert run["study_file"] is None
    assert run["study_sha256"] == sha(folder / "study.toml")
    assert resolve_study(folder).study == toy()


def test_written_results_keep_the_study(comparison: Comparison, tmp_path: Path) -> None:
    comparison.write(tmp_path / "results", plots=False)
    run = json.loads((tmp_path / "results" / "run.json").read_text(encoding="utf-8"))
    assert run["study_file"] is None
    assert run["study_sha256"] == sha(tmp_path / "results" / "study.toml")
    assert load_study(tmp_path / "results" / "study.toml") == comparison.study


def test_the_recorded_original_then_the_parent_folder(tmp_path: Path, toy: Callable[..., Study]) -> None:
    original = write_study(toy(), tmp_path / "mine.toml")
    folder = results_folder(tmp_path, original)
    (folder / "study.toml").unlink()
    assert resolve_study(folder).path == original.resolve()
    write_study(toy(), folder.parent / "study.toml")
    original.unlink()
    assert resolve_study(folder).path == folder.parent.resolve() / "study.toml"


def test_a_moved_folder_still_finds_its_copy(tmp_path: Path, toy: Callable[..., Study]) -> None:
    original = write_study(toy(), tmp_path / "mine.toml")
    folder = results_folder(tmp_path, original)
    moved = tmp_path / "elsewhere" / "results"
    shutil.move(folder, moved)
    original.unlink()
    assert resolve_study(moved).study == toy()


def test_the_shipped_study_by_name(tmp_path: Path, electrode_study_path: Path) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    name = load_study(electrode_study_path).name
    (folder / "run.json").write_text(json.dumps({"study": name}), encoding="utf-8")
    found = resolve_study(folder)
    assert found.study.name == name
    assert found.path is not None
    assert found.path.read_bytes() == electrode_study_path.read_bytes()


def test_an_edited_study_is_refused_naming_both_files(tmp_path: Path, toy: Callable[..., Study]) -> None:
    original = write_study(toy(), tmp_path / "mine.toml")
    folder = results_folder(tmp_path, original)
    copy = folder / "study.toml"
    copy.write_text(copy.read_text(encoding="utf-8").replace("toy coating line", "edited line"), encoding="utf-8")
    with pytest.raises(SpecError, match="changed since") as info:
        resolve_study(folder)
    assert str(copy) in str(info.value)
    assert str(folder / "run.json") in str(info.value)
    copy.unlink()
    write_study(toy("edited line"), original)
    with pytest.raises(SpecError, match="changed since") as info:
        resolve_study(folder)
    assert str(original.resolve()) in str(info.value)


def test_a_given_file_wins_with_a_note_when_it_differs(tmp_path: Path, toy: Callable[..., Study]) -> None:
    folder = results_folder(tmp_path, write_study(toy(), tmp_path / "mine.toml"))
    other = write_study(toy("another line"), tmp_path / "other.toml")
    found = resolve_study(folder, other)
    assert found.study.name == "another line"
    assert found.note is not None
    assert "not the study file these results were fitted from" in found.note
    assert resolve_study(folder, tmp_path / "mine.toml").note is None
    assert resolve_study(folder, toy("in memory")).study.name == "in memory"


def test_no_way_to_find_the_study_asks_for_it(tmp_path: Path, toy: Callable[..., Study]) -> None:
    folder = results_folder(tmp_path, None, toy("nowhere line"))
    (folder / "study.toml").unlink()
    with pytest.raises(SpecError, match=r"cannot tell which study file .*'nowhere line'.*pass --study") as info:
        resolve_study(folder)
    assert str(folder) in str(info.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SpecError, match="pass --study"):
        resolve_study(empty)
