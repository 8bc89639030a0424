"""``glassline whatif`` and ``glassline window`` through the real command line: answers, curves, the window as the
explain stage computes it, and one clear line for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from glassline import Study
from glassline.cli import main
from glassline.explain import process_window
from glassline.models import load_fits
from glassline.registry import LoadedModel
from glassline.serve import ServedModel

ROW = {"x1": 0.2, "x2": 0.8, "x3": 0.3}


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _ref(model: LoadedModel) -> str:
    return f"{model.name}/{model.version}"


def test_whatif_answer_meets_the_requirement(
    optimize_models: dict[str, LoadedModel], home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = optimize_models["rsm"]
    served = ServedModel(model)
    start = float(served.predict(np.array([[ROW[n] for n in served.inputs]]))[0])
    goal = start + (served.half_width or 0.0) + 0.2
    argv = ["whatif", "--model", _ref(model), "--row", json.dumps(ROW), "--require", f"y>={goal}", "--home", str(home)]
    code, out, err = _run([*argv, "--json"], capsys)
    assert code == 0, err
    answer = json.loads(out)
    if answer["feasible"]:
        x = np.array([[answer["row"][n] for n in served.inputs]])
        assert float(served.predict(x)[0]) - (served.half_width or 0.0) >= goal - 1e-9
        assert answer["intervals"][model.name][0] >= goal - 1e-9
    else:
        assert answer["certificate"]
    code, out, err = _run(argv, capsys)
    assert code == 0, err
    assert "feasible: change" in out or "infeasible:" in out, out


def test_whatif_curves_along_a_factor(
    optimize_models: dict[str, LoadedModel], home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = _ref(optimize_models["xgb"])
    argv = ["whatif", "--model", ref, "--row", json.dumps(ROW), "--along", "x1", "--points", "3", "--home", str(home)]
    code, out, err = _run([*argv, "--json"], capsys)
    assert code == 0, err
    curves = json.loads(out)
    entry = curves["responses"][optimize_models["xgb"].name]
    assert len(entry["prediction"]) == 3
    assert set(entry["attributions"]) == {"x1", "x2", "x3"}
    code, out, _ = _run(argv, capsys)
    assert code == 0
    assert out.count("x1 = ") == 3


def test_window_matches_the_explain_stage(results_dir: Path, study: Study, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["window", str(results_dir), "--require", "y>=1", "--points", "7", "--json"], capsys)
    assert code == 0, err
    summary = json.loads(out)
    expected = process_window(load_fits(results_dir), study, ["y>=1"], points=7, results_dir=results_dir).summary()
    assert summary["feasible_fraction"] == pytest.approx(expected["feasible_fraction"])
    assert summary["recommended"] == pytest.approx(expected["recommended"])
    assert summary["desirability"]["setting"] == pytest.approx(expected["desirability"]["setting"])
    code, out, _ = _run(["window", str(results_dir), "--require", "y>=1", "--points", "7"], capsys)
    assert code == 0
    assert "desirability optimum" in out


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--row", json.dumps({**ROW, "x9": 1})], "row: unknown factor 'x9'"),
        (["--row", json.dumps(ROW), "--require", "y>=3", "--require", "y<=2"], "y would need ≥ 3 and ≤ 2"),
        (["--row", json.dumps(ROW), "--require", "y>=3", "--settable", "x1,porosity"], "unknown settable factor"),
        (["--row", json.dumps(ROW), "--require", "w>=3"], "no response or model named 'w'"),
        (["--row", "{not json"], "--row: expected a JSON object"),
        (["--row", json.dumps(ROW), "--along", "x1,x1"], "the two factors must differ"),
    ],
)
def test_whatif_bad_input_is_one_line(
    optimize_models: dict[str, LoadedModel],
    home: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    words: str,
) -> None:
    code, _, err = _run(["whatif", "--model", _ref(optimize_models["mlr"]), "--home", str(home), *extra], capsys)
    assert code == 1, err
    assert err.startswith("error:"), err
    assert words in err, err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_unknown_model_and_bad_window_input(
    home: Path, results_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = _run(
        ["whatif", "--model", "no-such-model", "--row", "{}", "--require", "y>=1", "--home", str(home)], capsys
    )
    assert code == 1
    assert "no-such-model" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = _run(["window", str(tmp_path / "missing"), "--require", "y>=1"], capsys)
    assert code == 1
    assert "not a folder" in err
    code, _, err = _run(["window", str(results_dir), "--require", "y=>1"], capsys)
    assert code == 1
    assert "expected RESPONSE OP NUMBER" in err
