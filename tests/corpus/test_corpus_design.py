"""Bad design requests (``glassline design``) and bad design files (``glassline design-check``)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest
from corpus_cli import Case, params, run_case

STUDY = str(files("glassline.domains.electrode").joinpath("study.toml"))
HEADER = "mass_loading,drying_temperature,porosity\n"
ONE_FACTOR = 'name = "one"\n[[factors]]\nname = "a"\nlow = 0\nhigh = 1\n[[responses]]\nname = "y"\n'
TWO_FACTORS = ONE_FACTOR + '[[factors]]\nname = "b"\nlow = 0\nhigh = 1\n'
CONSTRAINED = TWO_FACTORS + "[[constraints]]\ncoefficients = { a = 1.0, b = 1.0 }\nupper = 1.0\n"
CATEGORICAL = ONE_FACTOR + '[[factors]]\nname = "lot"\nlevels = ["A", "B"]\n'


def design(case_id: str, options: list[str], *expect: str, study: str = STUDY, **files: str) -> Case:
    """``glassline design STUDY --out {tmp}/d.csv OPTIONS`` (a study text in *files* as ``s.toml``)."""
    return Case(case_id, ["design", study, "--out", "{tmp}/d.csv", "-q", "--starts", "2", *options], expect, files)


def check(case_id: str, table: str, *expect: str, name: str = "runs.csv") -> Case:
    """``glassline design-check STUDY {tmp}/runs.csv`` with *table* as the run file."""
    return Case(case_id, ["design-check", STUDY, "{tmp}/" + name], [f"{{tmp}}/{name}", *expect], {name: table})


OWN = "{tmp}/s.toml"
REQUESTS = [
    design("design-optimal-without-runs", [], "--runs is required for an optimal design"),
    design("design-runs-negative", ["--runs", "-3"], "'runs' must be a whole number ≥ 0, got -3"),
    design("design-runs-too-few", ["--runs", "5"], "5 runs are too few", "10 terms", "the minimum is 10 runs"),
    design("design-runs-too-many", ["--runs", "100000000"], "'runs' must be at most 10,000", "100,000,000"),
    design("design-starts-zero", ["--runs", "17", "--starts", "0"], "'n_starts' must be at least 1, got 0"),
    design(
        "design-lack-of-fit-negative", ["--runs", "17", "--lack-of-fit", "-1"], "'lack_of_fit' must be a whole number"
    ),
    design("design-replicates-negative", ["--runs", "17", "--replicates", "-1"], "'replicates' must be a whole number"),
    design(
        "design-replicates-exceed-runs", ["--runs", "17", "--replicates", "50"], "50 replicates", "minimum is 60 runs"
    ),
    design(
        "design-seed-negative",
        ["--runs", "17", "--seed", "-1"],
        "seed: expected an integer from 0 to 4294967295, got -1",
    ),
    design("design-seed-too-large", ["--runs", "17", "--seed", "99999999999"], "seed:", "got 99999999999"),
    design(
        "design-effect-size-negative",
        ["--runs", "17", "--effect-size", "-1"],
        "effect_size: expected a finite number > 0",
    ),
    design("design-effect-size-nan", ["--runs", "17", "--effect-size", "nan"], "effect_size:", "got nan"),
    design(
        "design-compare-levels-one", ["--runs", "17", "--compare-levels", "1"], "at least 2 levels per factor, got 1"
    ),
    design(
        "design-compare-levels-huge", ["--runs", "17", "--compare-levels", "400"], "64,000,000 runs", "limit is 100,000"
    ),
    design(
        "design-factorial-one-level",
        ["--kind", "full-factorial", "--levels", "1"],
        "at least 2 levels per factor, got 1",
    ),
    design(
        "design-factorial-too-large",
        ["--kind", "full-factorial", "--levels", "400"],
        "400-level full factorial",
        "64,000,000 runs (400 × 400 × 400)",
        "the limit is 100,000 runs",
    ),
    design("design-lhs-without-runs", ["--kind", "latin-hypercube"], "Latin hypercube needs the number of runs"),
    design("design-lhs-one-run", ["--kind", "latin-hypercube", "--runs", "1"], "at least 2 runs, got 1"),
    design(
        "design-lhs-too-many", ["--kind", "latin-hypercube", "--runs", "100000"], "at most 10,000 runs, got 100,000"
    ),
    design(
        "design-ccd-one-factor",
        ["--kind", "ccd-face"],
        "at least 2 continuous factors, got 1",
        study=OWN,
        **{"s.toml": ONE_FACTOR},
    ),
    design(
        "design-box-behnken-two-factors",
        ["--kind", "box-behnken"],
        "at least 3 continuous factors, got 2",
        study=OWN,
        **{"s.toml": TWO_FACTORS},
    ),
    design(
        "design-classical-ignores-constraint",
        ["--kind", "ccd-face"],
        "lie outside the space",
        "use optimal_design",
        study=OWN,
        **{"s.toml": CONSTRAINED},
    ),
    design(
        "design-by-variance-without-augment",
        ["--runs", "17", "--by-variance"],
        "--by-variance",
        "give it with --augment FILE",
    ),
    design(
        "design-augment-missing-file", ["--runs", "20", "--augment", "{tmp}/nope.csv"], "{tmp}/nope.csv: no such file"
    ),
    design(
        "design-augment-no-runs",
        ["--augment", "{tmp}/old.csv"],
        "--runs is required with --augment",
        **{"old.csv": HEADER + "9,55,30\n10,60,35\n"},
    ),
    design(
        "design-augment-runs-not-more",
        ["--runs", "2", "--augment", "{tmp}/old.csv"],
        "2 is not more than the 2 runs already in",
        **{"old.csv": HEADER + "9,55,30\n10,60,35\n"},
    ),
    design(
        "design-augment-too-many",
        ["--runs", "20000", "--augment", "{tmp}/old.csv"],
        "--runs must be at most 10,000",
        **{"old.csv": HEADER + "9,55,30\n"},
    ),
    design("design-study-missing", ["--runs", "17"], "{tmp}/none.toml: no such study file", study="{tmp}/none.toml"),
    design(
        "design-too-few-runs-for-interactions",
        ["--runs", "3", "--model", "interactions"],
        "3 runs are too few",
        "interactions model",
    ),
]
FILES = [
    check("design-file-missing-column", "mass_loading,drying_temperature\n9,55\n", "missing column 'porosity'"),
    check(
        "design-file-non-numeric",
        HEADER + "9,55,abc\n",
        "row 2, column 'porosity'",
        "expected a number [%], found 'abc'",
    ),
    check(
        "design-file-out-of-range",
        HEADER + "9,55,80\n",
        "row 2, column 'porosity'",
        "expected a value in 25 … 40 [%], found 80",
    ),
    check("design-file-empty-cell", HEADER + "9,55,\n", "row 2, column 'porosity'", "found an empty cell"),
    check("design-file-header-only", HEADER, "no data rows"),
    check("design-file-zero-bytes", "", "could not be read as a csv table"),
    check(
        "design-file-too-few-runs", HEADER + "9,55,30\n", "the design read from", "has 1 runs", "needs at least 10 runs"
    ),
    check(
        "design-file-one-level",
        HEADER + "".join(f"9,{t},{p}\n" for t in (50, 57.5, 65) for p in (25, 32.5, 40)) + "9,55,30\n",
        "factor 'mass_loading' to only 1 distinct value",
    ),
    check("design-file-unknown-suffix", HEADER + "9,55,30\n", "unknown table format '.dat'", name="runs.dat"),
    Case("design-file-is-a-folder", ["design-check", STUDY, "{tmp}"], ["{tmp}: is a folder; expected a table file"]),
    Case("design-file-missing", ["design-check", STUDY, "{tmp}/nope.csv"], ["{tmp}/nope.csv: no such file"]),
]


@pytest.mark.parametrize("bad", params(REQUESTS))
def test_a_bad_design_request_is_one_clear_error(bad: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_case(bad, tmp_path, capsys)
    assert not (tmp_path / "d.csv").exists(), "no run sheet is written for a refused request"


@pytest.mark.parametrize("bad", params(FILES))
def test_a_bad_design_file_is_one_located_error(bad: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_case(bad, tmp_path, capsys)
