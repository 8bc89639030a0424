"""glassline: explainable process-quality models for manufacturing.

From a designed experiment, through the line's data, to models that are compared honestly and
explained in the language of the people who act on them::

    import glassline

    study = glassline.load_study("study.toml")
    run = glassline.StudyRun(study, seed=7, out="out/")    # one study, one seed, every stage's output
    run.run("raw/")                                        # prepare → fit → explain → report
    run.fits.best("adhesion_strength", "product")
    glassline.run_study(study, "raw/", "out/")             # the same in one call, returning the paths
    with glassline.cluster("dask"):                        # the parallel work on Dask (or "tcp://HOST:PORT")
        run.fit()
    fits = glassline.load_fits("out/results")

The stages are also importable on their own (``glassline.design``, ``glassline.data``,
``glassline.models``, ``glassline.explain``, ``glassline.report``, ``glassline.registry``,
``glassline.serve``); the heavy ones load on first use.
"""

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from glassline._cluster import cluster
from glassline._lazy import load_lazily as _load_lazily
from glassline.exceptions import DataError, DesignError, GlasslineError, SpecError
from glassline.spec import Study, load_study, study_from_dict, write_study

try:
    __version__ = version("glassline")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

#: public names that live in a stage package, imported when first used (scikit-learn, shap, … are slow)
_LAZY = {
    "optimal_design": "glassline.design",
    "diagnose": "glassline.design",
    "prepare": "glassline.data",
    "compare": "glassline.models",
    "load_fits": "glassline.models",
    "explain": "glassline.explain",
    "shap_values": "glassline.explain",
    "build_report": "glassline.report",
    "run_study": "glassline.workflow",
    "StudyRun": "glassline.run",
    "run_demo": "glassline.demo",
}

__all__ = [
    "DataError",
    "DesignError",
    "GlasslineError",
    "SpecError",
    "Study",
    "StudyRun",
    "__version__",
    "build_report",
    "cluster",
    "compare",
    "diagnose",
    "explain",
    "load_fits",
    "load_study",
    "optimal_design",
    "prepare",
    "run_demo",
    "run_study",
    "shap_values",
    "study_from_dict",
    "write_study",
]


def __getattr__(name: str) -> Any:
    return _load_lazily(__name__, _LAZY, name)
