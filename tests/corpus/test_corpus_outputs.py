"""Output paths that cannot be written: a parent that is a file, a folder where a file belongs, a full disk.

Each command refuses with one line naming the option and the path, before it computes anything where it
can (the path is checked first), and never with an internal error. ``/dev/full`` answers every write
with ENOSPC, as a full disk does.
"""

from __future__ import annotations

import errno
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
from corpus_cli import Case, params, run_case

from glassline._output import output_path, writing
from glassline.eis import frequency_sweep, simulate_spectrum
from glassline.exceptions import OutputError

STUDY = str(files("glassline.domains.electrode").joinpath("study.toml"))
F = frequency_sweep(1e4, 0.1, 10)
_Z = simulate_spectrum(F, r_sep=15.0, r_ion=100.0, q=2e-3, gamma=0.9, noise=0.0, rng=np.random.default_rng(0))
SPECTRUM = "f,re,im\n" + "".join(f"{f:.8g},{z.real:.8g},{z.imag:.8g}\n" for f, z in zip(F, _Z, strict=True))
A_FILE = {"afile": "not a folder\n"}
FULL = "/dev/full"
DESIGN = ["design", STUDY, "-q", "--runs", "17", "--starts", "1", "--compare-levels", "0"]
RUNS = "mass_loading,drying_temperature,porosity\n" + "".join(
    f"{m},{t},{p}\n" for m in (8.2, 9.7, 11.2) for t in (50, 57.5, 65) for p in (25, 32.5, 40)
)


def eis(case_id: str, options: list[str], *expect: str, extra: dict[str, str] | None = None) -> Case:
    return Case(
        case_id, ["eis", "fit", "{tmp}/s.csv", "-q", "-j", "1", *options], expect, {"s.csv": SPECTRUM, **(extra or {})}
    )


CASES = [
    Case(
        "out-design-parent-is-a-file",
        [*DESIGN, "--out", "{tmp}/afile/d.csv"],
        ["--out {tmp}/afile/d.csv", "{tmp}/afile is a file, not a folder"],
        A_FILE,
    ),
    Case(
        "out-design-deep-parent-is-a-file",
        [*DESIGN, "--out", "{tmp}/afile/x/y/d.csv"],
        ["{tmp}/afile is a file, not a folder"],
        A_FILE,
    ),
    Case("out-design-is-a-folder", [*DESIGN, "--out", "{tmp}"], ["--out {tmp}: it is a folder; expected a file name"]),
    Case(
        "out-design-unknown-suffix",
        [*DESIGN, "--out", "{tmp}/d.txt"],
        ["--out {tmp}/d.txt: expected a file ending in .csv or .xlsx, not '.txt'"],
    ),
    Case(
        "out-design-json-full-disk",
        [*DESIGN, "--out", "{tmp}/d.csv", "--json", FULL],
        ["--json /dev/full: cannot write: no space left on the device"],
    ),
    Case(
        "out-design-json-parent-is-a-file",
        [*DESIGN, "--out", "{tmp}/d.csv", "--json", "{tmp}/afile/d.json"],
        ["--json {tmp}/afile/d.json", "is a file, not a folder"],
        A_FILE,
    ),
    Case(
        "out-design-json-is-a-folder",
        [*DESIGN, "--out", "{tmp}/d.csv", "--json", "{tmp}"],
        ["--json {tmp}: it is a folder"],
    ),
    Case(
        "out-design-fds-parent-is-a-file",
        [*DESIGN, "--out", "{tmp}/d.csv", "--fds-plot", "{tmp}/afile/f.png"],
        ["--fds-plot {tmp}/afile/f.png", "is a file, not a folder"],
        A_FILE,
    ),
    Case(
        "out-design-fds-unknown-suffix",
        [*DESIGN, "--out", "{tmp}/d.csv", "--fds-plot", "{tmp}/f.jpg"],
        ["--fds-plot {tmp}/f.jpg: expected a file ending in .png or .svg or .pdf, not '.jpg'"],
    ),
    Case(
        "out-design-under-dev-full",
        [*DESIGN, "--out", "/dev/full/d.csv"],
        ["--out /dev/full/d.csv: /dev/full is a file, not a folder"],
    ),
    Case(
        "out-design-check-json-full-disk",
        ["design-check", STUDY, "{tmp}/runs.csv", "--json", FULL, "--compare-levels", "0"],
        ["--json /dev/full: cannot write: no space left on the device"],
        {"runs.csv": RUNS},
    ),
    eis("out-eis-full-disk", ["-o", FULL], "--out /dev/full: cannot write: no space left on the device"),
    eis(
        "out-eis-parent-is-a-file",
        ["-o", "{tmp}/afile/r.csv"],
        "--out {tmp}/afile/r.csv",
        "is a file, not a folder",
        extra=A_FILE,
    ),
    eis("out-eis-is-a-folder", ["-o", "{tmp}"], "--out {tmp}: it is a folder; expected a file name"),
    eis(
        "out-eis-plots-is-a-file",
        ["-o", "{tmp}/r.csv", "--plots", "{tmp}/afile"],
        "--plots {tmp}/afile: it is a file; expected a folder",
        extra=A_FILE,
    ),
    Case(
        "out-simulate-parent-is-a-file",
        ["simulate", "--out", "{tmp}/afile/raw", "-q"],
        ["--out {tmp}/afile/raw", "{tmp}/afile is a file, not a folder"],
        A_FILE,
    ),
    Case(
        "out-simulate-is-a-file",
        ["simulate", "--out", "{tmp}/afile", "-q"],
        ["--out {tmp}/afile: it is a file; expected a folder"],
        A_FILE,
    ),
]


@pytest.mark.parametrize("bad", params(CASES))
def test_an_unwritable_output_is_one_clear_error(bad: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if FULL in bad.argv and not Path(FULL).exists():
        pytest.skip("this system has no /dev/full")
    run_case(bad, tmp_path, capsys)


def test_output_path_creates_missing_parents(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "c.csv"
    assert output_path(target) == target
    assert target.parent.is_dir()
    assert not target.exists()
    folder = output_path(tmp_path / "x" / "y", folder=True)
    assert folder.is_dir()


def test_writing_names_the_path_and_the_reason(tmp_path: Path) -> None:
    target = tmp_path / "t.csv"
    expected = r"--out .*t\.csv: cannot write: no space left on the device"
    with pytest.raises(OutputError, match=expected) as info, writing(target, what="--out"):
        raise OSError(errno.ENOSPC, "No space left on device")
    assert isinstance(info.value, OSError)  # an OutputError is also an OSError
    assert isinstance(info.value.__cause__, OSError)


def test_any_other_os_error_is_one_located_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An OSError from a command outside the checked writers still ends in one line naming the path."""
    from glassline.cli import _study, main

    def read_only(path: object) -> object:
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(_study, "load_study", read_only)
    with pytest.raises(SystemExit) as info:
        main(["check", str(tmp_path / "s.toml")])
    err = capsys.readouterr().err
    assert info.value.code == 1
    assert f"error: {tmp_path / 's.toml'}: the file system is read-only" in err
    assert "internal error" not in err
