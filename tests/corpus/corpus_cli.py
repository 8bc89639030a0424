"""The bad-input corpus's machinery: a case is files to write, a command line, and the words its error must hold.

Every case runs through the real command line (``glassline.cli.main`` in this process) and must end with
exit code 1 and one clean line on stderr that holds each expected substring (where: file, row, column,
field or option; what: expected and found). ``{tmp}`` in the command line, the files' names and the
expected substrings is the case's temporary folder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from glassline.cli import main

__all__ = ["Case", "ids", "params", "run_case"]


@dataclass(frozen=True)
class Case:
    """One kind of bad input: *id*, files (name → text or bytes), the arguments, expected substrings."""

    id: str
    argv: Sequence[str]
    expect: Sequence[str]
    files: Mapping[str, str | bytes] = field(default_factory=dict)
    #: lines of the message (a study file with several problems lists each on its own line)
    lines: int = 1


def params(cases: Sequence[Case]) -> list[object]:
    """*cases* as pytest parameters, each with its id."""
    return [pytest.param(case, id=case.id) for case in cases]


def ids(cases: Sequence[Case]) -> list[str]:
    return [case.id for case in cases]


def run_case(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Write the case's files, run its command line, check exit code 1 and the message; return stderr."""
    for name, content in case.files.items():
        path = tmp_path / name.format(tmp=tmp_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    argv = [arg.format(tmp=tmp_path) for arg in case.argv]
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 1, f"exit code {info.value.code}, stderr: {err}"
    assert "internal error" not in err, err
    assert "Traceback" not in err, err
    assert err.startswith("error:"), err  # nothing before it: no progress bar residue off a terminal
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == case.lines, f"expected {case.lines} line(s), got {len(lines)}: {err}"
    for expected in case.expect:
        assert expected.format(tmp=tmp_path) in err, f"{expected!r} not in: {err}"
    return err
