"""The validity domain of a published model: ranges, distance to the training rows, a JSON round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

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


def legacy_domain_json(X: np.ndarray, names: list[str]) -> dict[str, object]:
    """domain.json as bundles published before the calibrated threshold wrote it (Mahalanobis, max × 1.25)."""
    center, scale = X.mean(axis=0), X.std(axis=0)
    z = (X - center) / scale
    precision = np.linalg.pinv(np.cov(z, rowvar=False) + 1e-9 * np.eye(X.shape[1]))
    distances = np.sqrt(np.einsum("ij,jk,ik->i", z, precision, z))
    return {
        "ranges": [{"name": n, "low": 0.0, "high": 1.0, "unit": "", "source": "study"} for n in names],
        "distance": {
            "kind": "mahalanobis in standardized inputs",
            "center": center.tolist(),
            "scale": scale.tolist(),
            "precision": precision.tolist(),
            "threshold": float(distances.max()) * 1.25,
            "margin": 1.25,
        },
    }


def test_a_bundle_published_before_the_calibration_answers_as_before(results_dir: Path) -> None:
    fit = load_fits(results_dir)[("y", "factors", "mlr")]
    X = fit.X_train.loc[:, list(fit.inputs)].to_numpy(dtype=float)
    data = legacy_domain_json(X, list(fit.inputs))
    domain = ValidityDomain.from_dict(data)
    check = domain.distance
    assert check.kind == "mahalanobis in standardized inputs"
    assert check.level is None
    assert "published before calibrated thresholds" in check.note
    assert domain.threshold == data["distance"]["threshold"]  # type: ignore[index]
    center, scale = np.asarray(data["distance"]["center"]), np.asarray(data["distance"]["scale"])  # type: ignore[index]
    precision = np.asarray(data["distance"]["precision"])  # type: ignore[index]
    probe = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.5, 0.5, 0.5]])
    z = (probe - center) / scale
    expected = np.sqrt(np.einsum("ij,jk,ik->i", z, precision, z))
    np.testing.assert_allclose(domain.distances(probe), expected, rtol=1e-12)
    verdicts = domain.check(probe)
    assert [v.inside for v in verdicts] == [d <= domain.threshold for d in expected]
    assert ValidityDomain.from_dict(domain.to_dict()) == domain  # written back the same way
    assert domain.summary().as_dict()["distance"]["level"] is None


def test_an_unknown_distance_kind_is_refused(results_dir: Path) -> None:
    from glassline.exceptions import DataError

    fit = load_fits(results_dir)[("y", "factors", "mlr")]
    data = legacy_domain_json(fit.X_train.loc[:, list(fit.inputs)].to_numpy(dtype=float), list(fit.inputs))
    data["distance"]["kind"] = "cosine"  # type: ignore[index]
    with pytest.raises(DataError, match=r"domain.json: distance.kind: expected one of .*, got 'cosine'"):
        ValidityDomain.from_dict(data)


def test_the_domain_uses_the_results_folders_configurations(results_dir: Path, study: object) -> None:
    """17 configurations × 3 replicates: calibrated on 17 held-out configurations, not on 40-odd rows."""
    from glassline import Study
    from glassline.registry import Bundle

    assert isinstance(study, Study)
    fit = load_fits(results_dir)[("y", "factors", "mlr")]
    bundle = Bundle.from_fit(fit, study, results_dir=results_dir, metrics={}, distance_level=0.1)
    check = bundle.domain.distance
    assert check.configurations == fit.X_train.drop_duplicates().shape[0] == 17
    assert check.level == 0.1
    assert check.level_reached == pytest.approx(1 - 17 / 18)


def test_a_range_source_other_than_study_or_training_data_is_refused(results_dir: Path, study: object) -> None:
    from glassline import Study
    from glassline.exceptions import DataError

    assert isinstance(study, Study)
    fit = load_fits(results_dir)[("y", "factors", "mlr")]
    data = ValidityDomain.from_training(study, fit.X_train.loc[:, list(fit.inputs)]).to_dict()
    data["ranges"][0]["source"] = "guess"
    with pytest.raises(DataError, match=r"ranges\[\].source: expected 'study' or 'training data', got 'guess'"):
        ValidityDomain.from_dict(data)
