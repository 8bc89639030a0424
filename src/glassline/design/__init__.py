"""Design of experiments: I- and D-optimal designs, classical designs, diagnostics, FDS, run sheets.

The paper plans its 17 anode configurations as an I-optimal response-surface design instead of a
64-run full factorial, checks independence with VIF and reads a Fraction of Design Space plot;
this package does all of that::

    from glassline import load_study
    from glassline.design import optimal_design

    design = optimal_design(load_study("study.toml"), runs=17)          # I-optimal, quadratic
    report = design.diagnostics()                                        # I, N·I, VIF, |r|, FDS, …
    design.run_sheet(seed=2023)                                          # real units, random order

The I-criterion is trace((X'X)⁻¹W) with W the exact moment matrix of the coded box (quasi-Monte-
Carlo under linear constraints); designs are found by multi-start coordinate exchange with
rank-one updates, refined off the level grid.
"""

from glassline.design._classical import (
    CLASSICAL_KINDS,
    box_behnken,
    central_composite,
    classical_design,
    full_factorial,
    latin_hypercube,
)
from glassline.design._design import Design, as_space, check_estimable, diagnose
from glassline.design._diagnostics import (
    Comparison,
    DesignDiagnostics,
    compare_with_factorial,
    factor_correlation,
    term_power,
    variance_inflation,
)
from glassline.design._fds import FdsCurve, fds_curve, plot_fds
from glassline.design._model import MODEL_KINDS, PolynomialModel, Term
from glassline.design._optimal import augment, augment_fds, optimal_design
from glassline.design._runsheet import RANDOMISATION_REASON, run_order_note, run_sheet, write_run_sheet
from glassline.design._space import DesignSpace, as_factor
from glassline.design._tables import read_design

__all__ = [
    "CLASSICAL_KINDS",
    "MODEL_KINDS",
    "RANDOMISATION_REASON",
    "Comparison",
    "Design",
    "DesignDiagnostics",
    "DesignSpace",
    "FdsCurve",
    "PolynomialModel",
    "Term",
    "as_factor",
    "as_space",
    "augment",
    "augment_fds",
    "box_behnken",
    "central_composite",
    "check_estimable",
    "classical_design",
    "compare_with_factorial",
    "diagnose",
    "factor_correlation",
    "fds_curve",
    "full_factorial",
    "latin_hypercube",
    "optimal_design",
    "plot_fds",
    "read_design",
    "run_order_note",
    "run_sheet",
    "term_power",
    "variance_inflation",
    "write_run_sheet",
]
