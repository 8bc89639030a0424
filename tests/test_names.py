"""A wrong target, scenario or family name: one line with the valid names and a did-you-mean, everywhere."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from glassline import GlasslineError, Study, write_study
from glassline.cli import main
from glassline.exceptions import SpecError, UnknownNameError
from glassline.models import Comparison, compare, family_names, get_family, load_fits, parity_figure

#: a family name one letter off a registered one, e.g. "xgbb"
TYPO = family_names()[-1] + "x"


def _one_line(error: pytest.ExceptionInfo[BaseException], hint: str) -> None:
    assert isinstance(error.value, GlasslineError)
    assert isinstance(error.value, ValueError)  # also a built-in error
    text = str(error.value)
    assert "\n" not in text
    assert not text.startswith(("'", '"'))  # a KeyError would print its message quoted
    assert f"Did you mean {hint!r}?" in text, text


@pytest.mark.parametrize(
    ("call", "hint"),
    [
        (lambda fits: fits[("yy", "factors", "mlr")], "y"),
        (lambda fits: fits[("y", "factor", "mlr")], "factors"),
        (lambda fits: fits[("y", "factors", TYPO)], TYPO[:-1]),
        (lambda fits: fits.best("yy", "factors"), "y"),
        (lambda fits: fits.best("y", "factorz"), "factors"),
        (lambda fits: fits.select(target="yy"), "y"),
        (lambda fits: fits.select(family=TYPO), TYPO[:-1]),
    ],
)
def test_fits_lookups(results_dir: Path, call: Callable[[Any], Any], hint: str) -> None:
    with pytest.raises(UnknownNameError) as error:
        call(load_fits(results_dir))
    _one_line(error, hint)


def test_fits_keep_the_mapping_contract(results_dir: Path) -> None:
    fits = load_fits(results_dir)
    assert ("y", "factors", "mlr") in fits
    assert ("y", "factors", TYPO) not in fits
    assert "y" not in fits
    assert fits.get(("yy", "factors", "mlr")) is None
    with pytest.raises(KeyError):  # an UnknownNameError is a KeyError too
        fits[("yy", "factors", "mlr")]


def test_parity_figure_and_registry(results_dir: Path) -> None:
    with pytest.raises(UnknownNameError) as error:
        parity_figure(Comparison.load(results_dir), "yy")
    _one_line(error, "y")
    with pytest.raises(UnknownNameError) as error:
        get_family(TYPO)
    _one_line(error, TYPO[:-1])


@pytest.mark.parametrize(
    ("selection", "hint"),
    [({"targets": ["yy"]}, "y"), ({"scenarios": ["factor"]}, "factors"), ({"families": [TYPO]}, TYPO[:-1])],
)
def test_compare(study: Study, synthetic_rows: pd.DataFrame, selection: dict[str, list[str]], hint: str) -> None:
    with pytest.raises(UnknownNameError) as error:
        compare(study, synthetic_rows, n_jobs=1, **selection)  # type: ignore[arg-type]
    _one_line(error, hint)


@pytest.mark.parametrize(("selection", "hint"), [({"targets": ["yy"]}, "y"), ({"families": [TYPO]}, TYPO[:-1])])
def test_explain(results_dir: Path, selection: dict[str, list[str]], hint: str) -> None:
    from glassline.explain import explain

    with pytest.raises(UnknownNameError) as error:
        explain(results_dir, plots=False, influence=False, **selection)  # type: ignore[arg-type]
    _one_line(error, hint)


def test_study_lookups(study: Study) -> None:
    for call, hint in ((lambda: study.response("yy"), "y"), (lambda: study.factor("xx1"), "x1")):
        with pytest.raises(SpecError) as error:
            call()
        _one_line(error, hint)


# ----------------------------------------------------------------- the command line
def _fails(args: list[str], capsys: pytest.CaptureFixture[str], hint: str) -> None:
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert f"Did you mean {hint!r}?" in lines[0], err


@pytest.fixture(scope="module")
def spec_and_table(study: Study, synthetic_rows: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    folder = tmp_path_factory.mktemp("names")
    synthetic_rows.to_csv(folder / "table.csv", index=False)
    return [str(write_study(study, folder / "study.toml")), "--data", str(folder / "table.csv")]


@pytest.mark.parametrize(
    ("option", "hint"),
    [(["-t", "yy"], "y"), (["-s", "factor"], "factors"), (["-f", TYPO], TYPO[:-1])],
)
def test_cli_fit(
    spec_and_table: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], option: list[str], hint: str
) -> None:
    _fails(["fit", *spec_and_table, "--out", str(tmp_path / "r"), "-q", *option], capsys, hint)


@pytest.mark.parametrize("command", ["study", "demo"])
def test_cli_study_and_demo_check_names_before_any_work(
    spec_and_table: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    args = [*spec_and_table, "--out", str(tmp_path / "s")] if command == "study" else ["--out", str(tmp_path / "s")]
    _fails(
        [command, *args, "--quiet", "-t", "adhesion_strenght" if command == "demo" else "yy"],
        capsys,
        "adhesion_strength" if command == "demo" else "y",
    )
    assert not (tmp_path / "s" / "dataset").exists()
    assert not (tmp_path / "s" / "design.csv").exists()


@pytest.mark.parametrize(("option", "hint"), [(["-t", "yy"], "y"), (["-f", TYPO], TYPO[:-1])])
def test_cli_explain(
    results_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], option: list[str], hint: str
) -> None:
    _fails(["explain", str(results_dir), "-o", str(tmp_path / "e"), "-q", *option], capsys, hint)


@pytest.mark.parametrize(
    ("option", "hint"),
    [
        (["-t", "yy", "-s", "factors"], "y"),
        (["-t", "y", "-s", "factor"], "factors"),
        (["-t", "y", "-s", "factors", "-f", TYPO], TYPO[:-1]),
    ],
)
def test_cli_publish(
    results_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], option: list[str], hint: str
) -> None:
    _fails(["publish", str(results_dir), "--home", str(tmp_path / "home"), *option], capsys, hint)
