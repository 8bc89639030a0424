"""A whole study with a domain-free study file imports no domain pack and prints no domain words."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import glassline
import glassline.domains

#: words of the electrode domain that must not reach the report of a study without a domain
ELECTRODE_WORDS = (
    "electrode",
    "bruggeman",
    "tortuosity",
    "nyquist",
    "coating gap",
    "porosity",
    "anode",
    "graphite",
    "calender",
    "τ = a·ε",
)

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path

    import numpy as np
    import pandas as pd

    from glassline import study_from_dict, write_study
    from glassline.workflow import run_study

    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    study = study_from_dict(
        {
            "name": "generic line",
            "seed": 5,
            "factors": [
                {"name": "x1", "low": 0.0, "high": 1.0, "unit": "mm"},
                {"name": "x2", "low": 0.0, "high": 1.0, "unit": "°C"},
            ],
            "responses": [{"name": "y", "label": "Signal", "unit": "kPa", "expect": {"x1": "increasing"}}],
            "data": {"group": "configuration"},
            "split": {"cv_folds": 3, "cv_repeats": 1},
            "models": {"families": ["mlr", "poly2"]},
        }
    )
    spec = write_study(study, out / "generic.toml")
    rng = np.random.default_rng(1)
    rows = []
    for c, (x1, x2) in enumerate(rng.uniform(0.0, 1.0, size=(9, 2))):
        for _ in range(2):
            rows.append({"configuration": f"C{c}", "x1": x1, "x2": x2, "y": 3 * x1 - x2**2 + rng.normal(0, 0.05)})
    pd.DataFrame(rows).to_csv(out / "table.csv", index=False)
    run = run_study(spec, out / "table.csv", out / "study", n_jobs=1)
    print(json.dumps({"report": str(run.report), "modules": sorted(sys.modules)}))
    """
)


#: every package of the core (the CLI is not a library package)
CORE_PACKAGES = ("data", "design", "eis", "explain", "models", "registry", "report", "serve", "spec", "workflow")


def _python(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python ARGS`` with this glassline first on the path."""
    source = str(Path(glassline.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": source + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_importing_the_core_imports_no_domain_pack() -> None:
    imports = "; ".join(f"import glassline.{name}" for name in CORE_PACKAGES)
    done = _python(
        "-c",
        f"import json, sys; {imports}; from glassline.domains import available_domains; available_domains(); "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('glassline.domains'))))",
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == ["glassline.domains"]


@pytest.mark.slow
def test_domain_free_study_imports_no_domain_pack(tmp_path: Path) -> None:
    done = _python("-c", SCRIPT, str(tmp_path))
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert "glassline.report" in outcome["modules"]  # the whole study ran in this process
    packs = [m for m in outcome["modules"] if m.startswith("glassline.domains.")]
    assert packs == []
    text = Path(outcome["report"]).read_text(encoding="utf-8").lower()
    assert "signal" in text
    found = [word for word in ELECTRODE_WORDS if word in text]
    assert found == []
    story = (tmp_path / "study" / "explanations" / "narratives.md").read_text(encoding="utf-8").lower()
    assert [word for word in ELECTRODE_WORDS if word in story] == []


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) of every import in *path*, at any depth (imports inside functions too)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.lineno, node.module
            yield from ((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)


def test_the_core_reaches_domain_packs_only_through_the_contract() -> None:
    package = Path(glassline.__file__).resolve().parent
    offenders = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        if relative.parts[0] == "domains":
            continue
        for line, module in _imports(path):
            if module.startswith("glassline.domains.") and module.split(".")[2] not in glassline.domains.__all__:
                offenders.append(f"{relative}:{line} imports {module}")
            if module == "pkgutil" or module.startswith("pkgutil."):
                offenders.append(f"{relative}:{line} imports {module} (packages found by scanning names)")
    assert offenders == []
