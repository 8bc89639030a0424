"""The command line starts without the heavy libraries: --help must not wait for scikit-learn or shap."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("sklearn", "xgboost", "shap", "mlflow", "matplotlib", "scipy", "impedance", "fastapi", "sqlalchemy")


def test_loading_the_cli_imports_no_heavy_library() -> None:
    code = (
        "import json, sys; import glassline.cli; "
        f"print(json.dumps(sorted(m for m in {list(HEAVY)!r} if m in sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(done.stdout) == []


def test_models_package_loads_its_parts_on_first_use() -> None:
    code = (
        "import sys; import glassline.models as m; assert 'sklearn' not in sys.modules; "
        "m.compare; assert 'glassline.models._compare' in sys.modules; "
        "from glassline.models import Fit, CVScheme; print(CVScheme.LOGO.value, Fit.__name__)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.split() == ["logo", "Fit"]
