"""The study file: the shape the foundation issue promises, and the errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from glassline import SpecError, Study, load_study, study_from_dict
from glassline.exceptions import GlasslineError
from glassline.models import family_names

#: every registered family, as a study file lists them
FAMILIES_TOML = "[" + ", ".join(f'"{name}"' for name in family_names()) + "]"

ISSUE_EXAMPLE = """
name = "Graphite anode DoE"
seed = 2023

[[factors]]
name = "mass_loading"
label = "Active mass loading"
unit = "mg/cm²"
low = 8.2
high = 11.2

[[factors]]
name = "drying_temperature"
unit = "°C"
low = 50
high = 65

[[factors]]
name = "porosity"
unit = "%"
low = 25
high = 40

[[measured]]
name = "coating_gap"
unit = "µm"

[[measured]]
name = "compaction_rate"

[[responses]]
name = "adhesion_strength"
label = "Adhesion strength"
unit = "kPa"
expect = { porosity = "decreasing" }

[scenarios]
product = ["mass_loading", "drying_temperature", "porosity"]
process = ["coating_gap", "compaction_rate", "drying_temperature"]

[data]
group = "configuration"

[split]
test_fraction = 0.2
cv_folds = 5
cv_repeats = 5

[models]
families = FAMILIES

[cleaning]
outlier_sd = 1.5
""".replace("FAMILIES", FAMILIES_TOML)


def write(tmp_path: Path, text: str, name: str = "study.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def minimal(**overrides: object) -> dict:
    raw: dict = {
        "name": "s",
        "factors": [{"name": "x1", "low": 0, "high": 1}, {"name": "x2", "low": -1, "high": 1}],
        "responses": [{"name": "y"}],
    }
    raw.update(overrides)
    return raw


def test_issue_example_loads(tmp_path: Path) -> None:
    study = load_study(write(tmp_path, ISSUE_EXAMPLE))
    assert isinstance(study, Study)
    assert study.seed == 2023
    assert study.factor_names == ["mass_loading", "drying_temperature", "porosity"]
    assert study.factor("mass_loading").display == "Active mass loading [mg/cm²]"
    assert study.input_names[-2:] == ["coating_gap", "compaction_rate"]
    assert study.scenarios["process"] == ["coating_gap", "compaction_rate", "drying_temperature"]
    assert study.response("adhesion_strength").expect == {"porosity": "decreasing"}
    assert study.data.group == "configuration"
    assert study.split.cv_folds == 5
    assert study.cleaning.outlier_sd == 1.5
    assert study.cleaning.outlier_rule == "pooled"  # the default since issue 14 (was "sd")
    assert study.units()["coating_gap"] == "µm"


def test_requirements() -> None:
    study = study_from_dict(minimal(requirements=["y >= 1.5", "y<3e2"]))
    assert study.requirements == ["y >= 1.5", "y<3e2"]


def test_defaults() -> None:
    study = study_from_dict(minimal())
    assert study.scenarios == {"factors": ["x1", "x2"]}
    assert study.models.families == list(family_names())
    assert study.split.test_fraction == 0.2
    assert study.data.group is None
    assert study.seed == 0


def test_shipped_electrode_study(electrode_study_path: Path) -> None:
    study = load_study(electrode_study_path)
    assert [(f.name, f.low, f.high) for f in study.factors] == [
        ("mass_loading", 8.2, 11.2),
        ("drying_temperature", 50.0, 65.0),
        ("porosity", 25.0, 40.0),
    ]
    assert {"product", "process", "combined"} <= set(study.scenarios)
    names = set(study.response_names)
    assert {
        "electrode_mass_loading",
        "electrode_thickness",
        "adhesion_strength",
        "ionic_resistance",
        "tortuosity",
        "discharge_capacity_0_1c",
        "discharge_capacity_5c",
        "gravimetric_capacity_0_1c",
        "gravimetric_capacity_5c",
    } <= names
    assert set(study.scenarios_for("adhesion_strength")) == {"product", "process", "combined"}
    assert set(study.scenarios_for("electrode_thickness")) == {"inline", "inline_gap"}


def test_categorical_factor() -> None:
    study = study_from_dict(
        minimal(
            factors=[{"name": "lot", "kind": "categorical", "levels": ["A", "B"]}, {"name": "x", "low": 0, "high": 1}]
        )
    )
    assert study.factor("lot").levels == ["A", "B"]


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"factors": [{"name": "x1", "low": 2, "high": 1}]}, "factors[0]: 'low' must be below 'high'"),
        ({"factors": [{"name": "x1", "low": 0}]}, "needs both 'low' and 'high'"),
        ({"factors": [{"name": "x1", "lwo": 0, "high": 1}]}, "Did you mean 'low'"),
        ({"factors": [{"name": "lot", "kind": "categorical", "levels": ["A"]}]}, "at least two"),
        ({"factors": [{"name": "x1", "kind": "categroical", "levels": ["A", "B"]}]}, "factors[0].kind"),
        ({"factors": [{"name": "1x", "low": 0, "high": 1}]}, "factors[0].name"),
        ({"factors": []}, "factors"),
        ({"responses": [{"name": "x1"}]}, "already used"),
        ({"scenarios": {"a": ["x1", "x3"]}}, "scenarios.a[1]: 'x3' is neither a factor nor a measured column"),
        ({"scenarios": {"a": ["x_1"]}}, "Did you mean 'x1'"),
        ({"scenarios": {"a": ["y"]}}, "(it is a response)"),
        ({"scenarios": {"a": []}}, "at least one input"),
        ({"models": {"families": ["svm"]}}, "Did you mean 'svr'"),
        ({"split": {"test_fraction": 1.5}}, "split.test_fraction"),
        ({"split": {"cv_folds": 1}}, "split.cv_folds"),
        ({"cleaning": {"outlier_rule": "iqr"}}, "cleaning.outlier_rule"),
        ({"responses": [{"name": "y", "expect": {"x9": "decreasing"}}]}, "responses[0].expect.x9"),
        ({"responses": [{"name": "y", "expect": {"x1": "down"}}]}, "increasing"),
        ({"responses": [{"name": "y", "scenarios": ["nope"]}]}, "responses[0].scenarios[0]"),
        ({"constraints": [{"coefficients": {"x1": 1, "x3": 1}, "upper": 1}]}, "constraints[0].coefficients.x3"),
        ({"constraints": [{"coefficients": {"x1": 1}}]}, "give 'lower', 'upper' or both"),
        ({"seeed": 3}, "Did you mean 'seed'"),
        ({"data": {"group": "x1"}}, "data.group"),
        ({"requirements": ["y => 3"]}, "requirements[0]: expected RESPONSE OP NUMBER"),
        ({"requirements": ["y >= 1", "yy <= 2"]}, "requirements[1]: 'yy' is not a response"),
    ],
)
def test_bad_study_names_field(change: dict, needle: str) -> None:
    with pytest.raises(SpecError) as info:
        study_from_dict(minimal(**change), source="bad.toml")
    message = str(info.value)
    assert needle in message, message
    assert message.startswith("bad.toml: ")


def test_errors_are_builtin_errors() -> None:
    with pytest.raises(ValueError, match="low"):
        study_from_dict(minimal(factors=[{"name": "x1", "low": 2, "high": 1}]))
    assert issubclass(SpecError, GlasslineError)


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such study file"):
        load_study(tmp_path / "missing.toml")
    with pytest.raises(SpecError, match="is a folder"):
        load_study(tmp_path)
    with pytest.raises(SpecError, match=r"bad\.toml: not valid TOML"):
        load_study(write(tmp_path, 'name = "unterminated\n', "bad.toml"))
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00name")
    with pytest.raises(SpecError, match="UTF-8"):
        load_study(binary)


def test_lookup_errors_suggest() -> None:
    study = study_from_dict(minimal())
    with pytest.raises(SpecError, match="Did you mean 'x1'"):
        study.factor("x_1")
    with pytest.raises(SpecError, match="responses are"):
        study.response("z")
    assert study.column("y").name == "y"


def test_study_is_immutable() -> None:
    study = study_from_dict(minimal())
    with pytest.raises(ValueError, match="frozen"):
        study.seed = 3  # type: ignore[misc]


def test_write_study_round_trip(tmp_path: Path, electrode_study_path: Path) -> None:
    from glassline.spec import write_study

    study = load_study(electrode_study_path)
    again = load_study(write_study(study, tmp_path / "copy.toml"))
    assert again == study
