"""The validity domain of a published model: ranges, distance to the training rows, a JSON round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from glassline.models import load_fits
from glassline.registry import ValidityDomain


def test_domain_ranges_distance_and_round_trip(results_dir: Path, study: object) -> None:
    from glassline import Study

    assert isinstance(study, Study)
    fit = load_fits(results_dir)[("y", "factors", "mlr")]
    X = fit.X_train.loc[:, list(fit.inputs)]
    domain = ValidityDomain.from_training(study, X)
    assert all(v.inside for v in domain.check(X.to_numpy()))  # every training row is inside
    assert domain.check(np.array([[1e300, 0.5, 0.5]]))[0].violations[-1].kind == "distance"
    far = domain.check(np.array([[1e300, 0.5, 0.5]]))[0]
    assert np.isfinite(far.distance)  # huge inputs overflow to the largest finite distance, never ∞ in JSON
    again = ValidityDomain.from_dict(domain.to_dict())
    assert again == domain
