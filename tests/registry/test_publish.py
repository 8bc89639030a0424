"""Publishing to MLflow with the glassline bundle, and loading back by NAME, NAME@ALIAS and NAME/VERSION."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from glassline import Study
from glassline.exceptions import DataError, SpecError
from glassline.registry import RegistryError, _bundle, load_model, parse_model_ref, publish


@pytest.mark.slow
@pytest.mark.parametrize("family", ["rf", "xgb", "svr", "mlr", "rsm"])
def test_every_family_publishes_and_loads(family: str, results_dir: Path, study: Study, home: Path) -> None:
    published = publish(results_dir, "y", "factors", family=family, name=f"y-{family}", study=study, home=home)
    model = load_model(f"y-{family}/{published.version}", home=home)
    X = model.bundle.background.head(5)
    from glassline.models import load_fits

    expected = load_fits(results_dir)[("y", "factors", family)].predict(X)
    np.testing.assert_allclose(model.predict(X), expected)
    assert model.bundle.family == family


def test_bundle_holds_the_lineage_card_domain_and_background(results_dir: Path, study: Study, home: Path) -> None:
    published = publish(results_dir, "y", "factors", name="y-best", study=study, home=home, alias="prod")
    model = load_model("y-best@prod", home=home)
    assert (model.name, model.version) == (published.name, published.version)
    b = model.bundle
    assert b.inputs == ["x1", "x2", "x3"]
    assert [r.low for r in b.domain.ranges] == [0.0, 0.0, 0.0]
    assert b.domain.threshold > 0
    assert 1 <= len(b.background) <= 100
    assert b.interval["half_width"] > 0
    assert b.interval["level"] == 0.9
    for key in ("data_hash", "design_id", "glassline_version", "git_revision", "published_at"):
        assert key in b.lineage
    assert b.lineage["data_hash"].startswith("sha256:")
    for section in (
        "Model details",
        "Intended use",
        "Factors",
        "Metrics",
        "Evaluation data",
        "Training data",
        "Quantitative analyses",
        "Ethical considerations",
        "Caveats and recommendations",
    ):
        assert f"## {section}" in b.card
    assert b.study.name == study.name
    assert b.metrics["family"] == b.family
    assert load_model("y-best", home=home).version == published.version  # the latest version


def test_study_comes_from_the_results_folder_or_is_asked_for(
    results_dir: Path, unknown_study_results: Path, home: Path
) -> None:
    """The synthetic study ships with no domain: only the copy the results folder keeps tells which it is."""
    published = publish(results_dir, "y", "factors", family="mlr", name="y-own-study", home=home)
    bundle = load_model(published.uri.removeprefix("models:/"), home=home).bundle
    assert bundle.study.name == "synthetic serve"
    assert bundle.study_toml == (results_dir / "study.toml").read_text(encoding="utf-8")
    with pytest.raises(SpecError, match=r"cannot tell which study file .*pass --study"):
        publish(unknown_study_results, "y", "factors", home=home)


def test_unknown_target_and_model_give_one_clear_message(results_dir: Path, study: Study, home: Path) -> None:
    with pytest.raises(DataError, match="no fits for"):
        publish(results_dir, "z", "factors", study=study, home=home)
    publish(results_dir, "y", "factors", family="mlr", name="known", study=study, home=home)
    with pytest.raises(RegistryError, match="Did you mean 'known'"):
        load_model("knwon", home=home)
    with pytest.raises(RegistryError, match="not found"):
        load_model("known@nope", home=home)


@pytest.mark.parametrize(
    ("text", "name", "alias", "version"),
    [
        ("m", "m", None, None),
        ("m@prod", "m", "prod", None),
        ("m/3", "m", None, "3"),
        ("a.b-c_1@x", "a.b-c_1", "x", None),
    ],
)
def test_model_refs(text: str, name: str, alias: str | None, version: str | None) -> None:
    ref = parse_model_ref(text)
    assert (ref.name, ref.alias, ref.version) == (name, alias, version)
    assert str(ref) == text


@pytest.mark.parametrize("text", ["", "m@", "m/x", "m@a/1", "a b"])
def test_bad_model_refs(text: str) -> None:
    with pytest.raises(SpecError, match="NAME@ALIAS"):
        parse_model_ref(text)


def test_git_revision_never_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_git(*_args: object, **_kwargs: object) -> None:
        raise FileNotFoundError("git")

    monkeypatch.setattr(subprocess, "run", no_git)
    assert _bundle.git_revision() is None
