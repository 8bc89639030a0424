"""Which study file a results folder was fitted from: recorded when the results are written, found when read back.

:meth:`~glassline.models.Comparison.write` keeps a byte-for-byte copy of the study file as
``RESULTS_DIR/study.toml`` (an in-memory study is written there with :func:`~glassline.spec.write_study`)
and records in ``run.json`` ``study_file`` (the original file, absolute; null for an in-memory study)
and ``study_sha256`` (of the copy). :func:`resolve_study` is the one answer every later stage
(explain, report, publish) gets to "which study do these results belong to".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glassline.domains import available_domains, get_domain
from glassline.exceptions import SpecError
from glassline.spec import Study, load_study, write_study

__all__ = ["STUDY_COPY", "ResolvedStudy", "record_study", "resolve_study"]

#: The copy of the study file a results folder keeps.
STUDY_COPY = "study.toml"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record_study(folder: Path, *, study: Study | None = None, study_file: str | Path | None = None) -> dict[str, Any]:
    """Put the study into *folder* as ``study.toml``; returns the run.json entries that record it.

    *study_file* (the file the results were fitted from) is copied byte for byte; else *study* is
    written with :func:`~glassline.spec.write_study`; with neither, nothing is written or recorded.
    """
    copy = folder / STUDY_COPY
    if study_file is not None:
        source = Path(study_file).resolve()
        data = source.read_bytes()
        if not (copy.exists() and copy.resolve() == source):
            copy.write_bytes(data)
        return {"study_file": str(source), "study_sha256": _sha256(data)}
    if study is not None:
        write_study(study, copy)
        return {"study_file": None, "study_sha256": _sha256(copy.read_bytes())}
    return {}


@dataclass(frozen=True)
class ResolvedStudy:
    """The study of a results folder, the file it was read from and that file's text (None: given in memory).

    ``note`` says when an explicitly given study file is not the one the results were fitted from.
    """

    study: Study
    path: Path | None = None
    text: str | None = None
    note: str | None = None


def _shipped_studies() -> Iterator[Path]:
    """The study files the domain packs ship (:attr:`glassline.domains.DomainPack.study_files`), pack by pack."""
    for name in available_domains():
        yield from (path for path in get_domain(name).study_files if path.is_file())


def _read(path: Path, note: str | None = None) -> ResolvedStudy:
    return ResolvedStudy(load_study(path), path, path.read_text(encoding="utf-8"), note)


def resolve_study(results_dir: str | Path, study: Study | str | Path | None = None) -> ResolvedStudy:
    """The study the results in *results_dir* were fitted from.

    In order: *study* as given (a :class:`~glassline.spec.Study` or its file); the copy ``study.toml``
    in the folder; the original file run.json's ``study_file`` names; ``study.toml`` in the parent
    folder (a study folder written by ``glassline study`` or the demo); the shipped study whose name
    run.json records. When run.json records ``study_sha256``, a file found with other content raises
    :class:`~glassline.exceptions.SpecError` (the study changed since fitting); a given file with other
    content is used, with a ``note`` saying so. Nothing found raises ``SpecError`` asking for ``--study``.
    """
    folder = Path(results_dir)
    if isinstance(study, Study):
        return ResolvedStudy(study)
    run_file = folder / "run.json"
    run: dict[str, Any] = json.loads(run_file.read_text(encoding="utf-8")) if run_file.is_file() else {}
    expected = run.get("study_sha256")
    if study is not None:
        path = Path(study)
        note = None
        if expected and path.is_file() and _sha256(path.read_bytes()) != expected:
            note = (
                f"{path} is not the study file these results were fitted from (its SHA-256 differs from the one "
                f"{run_file} records); used as given"
            )
        return _read(path, note)
    recorded = run.get("study_file") if isinstance(run.get("study_file"), str) else None
    for path in _candidates(folder, recorded, run.get("study")):
        if expected and _sha256(path.read_bytes()) != expected:
            original = f" (fitted from {recorded})" if recorded and Path(recorded) != path else ""
            raise SpecError(
                f"{path}: the study changed since the results in {folder} were fitted{original}: its SHA-256 differs "
                f"from the one {run_file} records; refit, or pass the study file they were fitted from (--study)"
            )
        return _read(path)
    named = f" (run.json names study {run['study']!r})" if run.get("study") else ""
    gone = f", and {recorded}, the file they were fitted from, is gone" if recorded else ""
    raise SpecError(
        f"{folder}: cannot tell which study file these results were fitted from{named}: no {STUDY_COPY} in it or "
        f"beside it{gone}; pass --study STUDY.toml"
    )


def _candidates(folder: Path, recorded: str | None, name: Any) -> Iterator[Path]:
    """The study files that may belong to *folder*, most trusted first (only those that exist)."""
    paths = [folder / STUDY_COPY]
    if recorded:
        paths.append(Path(recorded) if Path(recorded).is_absolute() else folder / recorded)
    paths.append(folder.resolve().parent / STUDY_COPY)
    yield from (p for p in paths if p.is_file())
    if name:
        yield from (p for p in _shipped_studies() if load_study(p).name == name)
