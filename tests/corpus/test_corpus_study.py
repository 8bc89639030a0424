"""Bad study files through ``glassline check``: TOML syntax, types, keys, ranges, levels, names, constraints, text."""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus_cli import Case, params, run_case

#: A valid study: two continuous factors, one categorical, one measured input, one response.
HEAD = 'name = "corpus study"\nseed = 1\n'
FACTOR_A = '[[factors]]\nname = "speed"\nunit = "m/min"\nlow = 1.0\nhigh = 3.0\n'
FACTOR_B = '[[factors]]\nname = "temp"\nunit = "°C"\nlow = 40\nhigh = 80\n'
FACTOR_C = '[[factors]]\nname = "lot"\nkind = "categorical"\nlevels = ["A", "B"]\n'
MEASURED = '[[measured]]\nname = "gap"\nunit = "µm"\n'
RESPONSE = '[[responses]]\nname = "strength"\nunit = "kPa"\n'
GOOD = HEAD + FACTOR_A + FACTOR_B + FACTOR_C + MEASURED + RESPONSE
FILE = "{tmp}/study.toml"


def case(case_id: str, text: str | bytes, *expect: str, lines: int = 1) -> Case:
    return Case(case_id, ["check", FILE], [FILE, *expect], {"study.toml": text}, lines)


def factor_a(**fields: str) -> str:
    """FACTOR_A with fields replaced or added (values as TOML text)."""
    base = {"name": '"speed"', "unit": '"m/min"', "low": "1.0", "high": "3.0"}
    base.update(fields)
    return "[[factors]]\n" + "".join(f"{k} = {v}\n" for k, v in base.items() if v is not None and v != "")


def with_a(**fields: str) -> str:
    return HEAD + factor_a(**fields) + FACTOR_B + FACTOR_C + MEASURED + RESPONSE


CASES = [
    # --- the file itself
    Case("study-missing-file", ["check", "{tmp}/nope.toml"], ["{tmp}/nope.toml", "no such study file"]),
    Case("study-is-a-folder", ["check", "{tmp}"], ["{tmp}", "is a folder; expected a study file"]),
    case("study-not-utf8", b'name = "caf\xe9"\n', "not a UTF-8 text file", "at byte"),
    case("study-empty-file", "", "name: this field is required but missing", lines=3),
    case("toml-unclosed-string", 'name = "x\n', "not valid TOML", "line 1"),
    case("toml-unclosed-table", HEAD + "[[factors]\nname = 'a'\n", "not valid TOML", "line 3"),
    case("toml-duplicate-key", HEAD + 'name = "again"\n', "not valid TOML", "line 3"),
    case("toml-missing-value", HEAD + "seed =\n", "not valid TOML", "line 3"),
    case("toml-bare-word-value", HEAD + FACTOR_A.replace("low = 1.0", "low = one"), "not valid TOML", "line 6"),
    case("toml-unclosed-array", HEAD + FACTOR_C.replace('["A", "B"]', '["A", "B"'), "not valid TOML"),
    # --- top-level keys
    case(
        "top-unknown-key-did-you-mean",
        GOOD + 'descripton = "x"\n',
        "unknown field 'descripton'",
        "Did you mean 'description'?",
    ),
    case("top-missing-factors", HEAD + RESPONSE, "factors: this field is required but missing"),
    case("top-missing-responses", HEAD + FACTOR_A, "responses: this field is required but missing"),
    case("top-missing-name", FACTOR_A + RESPONSE, "name: this field is required but missing"),
    case("top-empty-name", 'name = ""\n' + FACTOR_A + RESPONSE, "name:", "at least 1 character"),
    case("top-name-with-newline", 'name = "two\\nlines"\n' + FACTOR_A + RESPONSE, "name:", "a newline"),
    case("top-seed-negative", GOOD.replace("seed = 1", "seed = -1"), "seed:", "greater than or equal to 0"),
    case(
        "top-seed-too-large", GOOD.replace("seed = 1", "seed = 4294967296"), "seed:", "less than or equal to 4294967295"
    ),
    case("top-seed-string", GOOD.replace("seed = 1", 'seed = "1"'), "seed:", "expected a number, got the string '1'"),
    case("top-seed-float", GOOD.replace("seed = 1", "seed = 1.5"), "seed:", "integer", "1.5"),
    case("top-factors-not-a-list", HEAD + 'factors = "speed"\n' + RESPONSE, "factors:", "valid list"),
    case("top-domain-bad-pattern", HEAD + 'domain = "no such/pack"\n' + FACTOR_A + RESPONSE, "domain:", "pattern"),
    # --- factor keys and types
    case(
        "factor-unknown-key-did-you-mean",
        with_a(hihg="3.0"),
        "factors[0]",
        "unknown field 'hihg'",
        "Did you mean 'high'?",
    ),
    case("factor-missing-name", with_a(name=""), "factors[0].name: this field is required but missing"),
    case("factor-name-with-space", with_a(name='"line speed"'), "factors[0].name", "pattern"),
    case("factor-name-starts-with-digit", with_a(name='"1speed"'), "factors[0].name", "pattern"),
    case("factor-name-too-long", with_a(name='"' + "s" * 81 + '"'), "factors[0].name", "at most 80 characters"),
    case("factor-name-duplicate", GOOD + FACTOR_B, "factors[3].name", "'temp' is already used in factors"),
    case(
        "factor-name-same-as-response",
        GOOD + '[[responses]]\nname = "speed"\n',
        "responses[1].name",
        "'speed' is already used in factors",
    ),
    case("factor-low-is-string", with_a(low='"1.0"'), "factors[0].low", "expected a number, got the string '1.0'"),
    case("factor-high-is-boolean", with_a(high="true"), "factors[0].high", "expected a number, got the boolean true"),
    case("factor-low-is-array", with_a(low="[1, 2]"), "factors[0].low", "valid number"),
    case("factor-missing-high", with_a(high=""), "factors[0]", "needs both 'low' and 'high'"),
    case(
        "factor-low-above-high", with_a(low="5.0"), "factors[0]", "'low' must be below 'high', got low=5.0 and high=3.0"
    ),
    case("factor-low-equals-high", with_a(low="3.0"), "factors[0]", "'low' must be below 'high'"),
    case("factor-low-infinite", with_a(low="-inf"), "factors[0]", "must be finite numbers, got -inf"),
    case("factor-high-nan", with_a(high="nan"), "factors[0]", "must be finite numbers", "nan"),
    case("factor-range-overflows", with_a(low="-1.7e308", high="1.7e308"), "factors[0]", "within ±1e+100", "-1.7e+308"),
    case(
        "factor-range-subnormal",
        with_a(low="1e-320", high="1e-310"),
        "factors[0]",
        "narrower than 1e-100",
        "rescale the unit",
    ),
    case(
        "factor-range-too-narrow",
        with_a(low="1e15", high="1.0000000000001e15"),
        "factors[0]",
        "too narrow for its magnitude",
    ),
    case(
        "factor-kind-unknown", with_a(kind='"ordinal"'), "factors[0].kind", "'continuous' or 'categorical'", "ordinal"
    ),
    case(
        "factor-levels-on-continuous",
        with_a(levels='["x", "y"]'),
        "factors[0]",
        "'low'/'high'/'values' are only for continuous factors; use 'levels'",
    ),
    case(
        "factor-values-outside-range", with_a(values="[1.0, 5.0]"), "factors[0]", "'values' must lie in [1, 3]", "5.0"
    ),
    case("factor-values-empty", with_a(values="[]"), "factors[0]", "'values' lists the settings", "give at least one"),
    case(
        "factor-values-string",
        with_a(values='["1.0"]'),
        "factors[0].values[0]",
        "expected a number, got the string '1.0'",
    ),
    case(
        "factor-label-with-nul", with_a(label='"line\\u0000speed"'), "factors[0].label", "a NUL (\\x00) at position 4"
    ),
    case(
        "factor-label-with-newline", with_a(label='"line\\nspeed"'), "factors[0].label", "a newline (\\n) at position 4"
    ),
    case("factor-unit-with-tab", with_a(unit='"m/\\tmin"'), "factors[0].unit", "a tab (\\t)"),
    case("factor-unit-is-number", with_a(unit="5"), "factors[0].unit", "valid string"),
    case("factor-description-with-nul", with_a(description='"a\\u0000b"'), "factors[0].description", "a NUL (\\x00)"),
    # --- categorical factors
    case(
        "categorical-one-level",
        GOOD.replace('levels = ["A", "B"]', 'levels = ["A"]'),
        "factors[2]",
        "at least two distinct levels, got ['A']",
    ),
    case(
        "categorical-repeated-level",
        GOOD.replace('levels = ["A", "B"]', 'levels = ["A", "A"]'),
        "factors[2]",
        "two distinct levels",
    ),
    case(
        "categorical-no-levels", GOOD.replace('levels = ["A", "B"]\n', ""), "factors[2]", "two distinct levels, got []"
    ),
    case(
        "categorical-with-low",
        GOOD.replace('levels = ["A", "B"]', 'levels = ["A", "B"]\nlow = 1'),
        "factors[2]",
        "only for continuous factors",
    ),
    case(
        "categorical-level-with-newline",
        GOOD.replace('levels = ["A", "B"]', 'levels = ["A", "B\\nC"]'),
        "factors[2].levels[1]",
        "a newline",
    ),
    case(
        "categorical-level-is-number",
        GOOD.replace('levels = ["A", "B"]', 'levels = ["A", 2]'),
        "factors[2].levels[1]",
        "valid string",
    ),
    # --- measured and responses
    case(
        "measured-unknown-key",
        GOOD + '[[measured]]\nname = "rpm"\nunits = "1/min"\n',
        "measured[1]",
        "unknown field 'units'",
        "Did you mean 'unit'?",
    ),
    case("measured-name-duplicate", GOOD + MEASURED, "measured[1].name", "'gap' is already used in measured"),
    case(
        "response-missing-name",
        GOOD + '[[responses]]\nunit = "kPa"\n',
        "responses[1].name: this field is required but missing",
    ),
    case(
        "response-expect-unknown-input",
        GOOD.replace('unit = "kPa"', 'unit = "kPa"\nexpect = { sped = "increasing" }'),
        "responses[0].expect.sped",
        "Did you mean 'speed'?",
    ),
    case(
        "response-expect-bad-direction",
        GOOD.replace('unit = "kPa"', 'unit = "kPa"\nexpect = { speed = "up" }'),
        "responses[0].expect.speed",
        "'increasing' or 'decreasing'",
    ),
    case(
        "response-unknown-scenario",
        GOOD.replace('unit = "kPa"', 'unit = "kPa"\nscenarios = ["factor"]'),
        "responses[0].scenarios[0]",
        "no scenario named 'factor'",
        "Did you mean 'factors'?",
    ),
    case(
        "response-label-with-newline",
        GOOD.replace('unit = "kPa"', 'unit = "kPa"\nlabel = "peel\\nstrength"'),
        "responses[0].label",
        "a newline",
    ),
    case(
        "response-level-with-nul",
        GOOD.replace('unit = "kPa"', 'unit = "kPa"\nlevel = "cell\\u0000"'),
        "responses[0].level",
        "a NUL",
    ),
    # --- scenarios
    case(
        "scenario-unknown-input",
        GOOD + '[scenarios]\nall = ["speed", "tmep"]\n',
        "scenarios.all[1]",
        "'tmep' is neither a factor nor a measured column",
        "Did you mean 'temp'?",
    ),
    case(
        "scenario-names-a-response",
        GOOD + '[scenarios]\nall = ["strength"]\n',
        "scenarios.all[0]",
        "(it is a response)",
    ),
    case("scenario-empty", GOOD + "[scenarios]\nall = []\n", "scenarios.all", "needs at least one input"),
    case("scenario-input-twice", GOOD + '[scenarios]\nall = ["speed", "speed"]\n', "scenarios.all", "listed twice"),
    case("scenario-name-with-newline", GOOD + '[scenarios]\n"a\\nb" = ["speed"]\n', "scenarios.'a\\nb'", "a newline"),
    # --- constraints
    case(
        "constraint-unknown-factor",
        GOOD + "[[constraints]]\ncoefficients = { sped = 1.0 }\nupper = 2\n",
        "constraints[0].coefficients.sped",
        "Did you mean 'speed'?",
    ),
    case(
        "constraint-categorical-factor",
        GOOD + "[[constraints]]\ncoefficients = { lot = 1.0 }\nupper = 2\n",
        "constraints[0].coefficients.lot",
        "'lot' is not a continuous factor",
    ),
    case(
        "constraint-no-bounds",
        GOOD + "[[constraints]]\ncoefficients = { speed = 1.0 }\n",
        "constraints[0]",
        "give 'lower', 'upper' or both",
    ),
    case(
        "constraint-lower-above-upper",
        GOOD + "[[constraints]]\ncoefficients = { speed = 1.0 }\nlower = 3\nupper = 2\n",
        "constraints[0]",
        "'lower' (3.0) is above 'upper' (2.0)",
    ),
    case(
        "constraint-no-coefficients",
        GOOD + "[[constraints]]\ncoefficients = {}\nupper = 2\n",
        "constraints[0]",
        "must name at least one factor",
    ),
    case(
        "constraint-coefficient-string",
        GOOD + '[[constraints]]\ncoefficients = { speed = "1" }\nupper = 2\n',
        "constraints[0].coefficients.speed",
        "expected a number, got the string '1'",
    ),
    case(
        "constraint-coefficient-infinite",
        GOOD + "[[constraints]]\ncoefficients = { speed = inf }\nupper = 2\n",
        "constraints[0]",
        "'speed' must be a finite number, got inf",
    ),
    # --- settings
    case("split-test-fraction-one", GOOD + "[split]\ntest_fraction = 1.0\n", "split.test_fraction", "less than 1"),
    case("split-cv-folds-one", GOOD + "[split]\ncv_folds = 1\n", "split.cv_folds", "greater than or equal to 2"),
    case(
        "split-cv-folds-string",
        GOOD + '[split]\ncv_folds = "5"\n',
        "split.cv_folds",
        "expected a number, got the string '5'",
    ),
    case("split-unknown-key", GOOD + "[split]\nfolds = 5\n", "split", "unknown field 'folds'"),
    case(
        "models-unknown-family",
        GOOD + '[models]\nfamilies = ["xgboost"]\n',
        "models.families",
        "unknown model family 'xgboost'",
    ),
    case(
        "models-family-twice",
        GOOD + '[models]\nfamilies = ["mlr", "mlr"]\n',
        "models.families",
        "families listed twice",
    ),
    case("models-no-family", GOOD + "[models]\nfamilies = []\n", "models.families", "at least 1 item"),
    case(
        "cleaning-unknown-rule", GOOD + '[cleaning]\noutlier_rule = "iqr"\n', "cleaning.outlier_rule", "'sd' or 'mad'"
    ),
    case(
        "cleaning-negative-k",
        GOOD + "[cleaning]\noutlier_sd = -1\n",
        "cleaning.outlier_sd",
        "greater than or equal to 0",
    ),
    case("cleaning-infinite-k", GOOD + "[cleaning]\noutlier_mad = inf\n", "cleaning.outlier_mad", "finite number"),
    case("cleaning-bad-ddof", GOOD + "[cleaning]\noutlier_ddof = 2\n", "cleaning.outlier_ddof", "0 or 1"),
    case("data-group-is-a-factor", GOOD + '[data]\ngroup = "speed"\n', "data.group", "also a factors name"),
    case(
        "requirement-bad-syntax",
        HEAD + 'requirements = ["strength > = 3"]\n' + FACTOR_A + RESPONSE,
        "requirements[0]",
        "expected RESPONSE OP NUMBER",
    ),
    case(
        "requirement-unknown-response",
        HEAD + 'requirements = ["strenght >= 3"]\n' + FACTOR_A + RESPONSE,
        "requirements[0]",
        "'strenght' is not a response",
        "Did you mean 'strength'?",
    ),
    case(
        "runbook-unknown-input",
        GOOD + '[[runbook]]\nalarm = "input_drift"\ninput = "sped"\nsteps = ["check the encoder"]\n',
        "runbook[0].input",
        "'sped' is neither a factor nor a measured column",
        "Did you mean 'speed'?",
    ),
    case(
        "runbook-unknown-alarm",
        GOOD + '[[runbook]]\nalarm = "drift"\nsteps = ["check"]\n',
        "runbook[0].alarm",
        "'input_drift'",
    ),
    case("runbook-no-steps", GOOD + '[[runbook]]\nalarm = "ood_rate"\nsteps = []\n', "runbook[0].steps", "at least 1"),
    case("contact-no-name", GOOD + '[[contacts]]\nrole = "engineer"\n', "contacts[0].name", "required"),
]


@pytest.mark.parametrize("bad", params(CASES))
def test_a_bad_study_file_is_one_located_error(bad: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_case(bad, tmp_path, capsys)


def test_a_byte_order_mark_is_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Windows editors write a UTF-8 BOM; the study reads as without it."""
    from glassline.spec import load_study

    with_bom = tmp_path / "bom.toml"
    with_bom.write_bytes(b"\xef\xbb\xbf" + GOOD.encode("utf-8"))
    plain = tmp_path / "plain.toml"
    plain.write_text(GOOD, encoding="utf-8")
    assert load_study(with_bom) == load_study(plain)
