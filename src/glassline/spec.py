"""The study file: what a study varies, measures and models, validated by pydantic.

A study file is TOML. :func:`load_study` reads one and returns a :class:`Study`; every problem is a
:class:`~glassline.exceptions.SpecError` that names the file, the field path (``factors[1].low``),
what was expected and what came, with did-you-mean hints for names.
"""

from __future__ import annotations

import math
import numbers
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from glassline._collinearity import (
    HARD_R_LIMIT,
    HARD_VIF_LIMIT,
    SOFT_R_LIMIT,
    SOFT_VIF_LIMIT,
    CollinearityLimits,
)
from glassline._output import output_path, writing
from glassline.exceptions import SpecError, UnknownNameError, did_you_mean

__all__ = [
    "ALARM_KINDS",
    "DEFAULT_BOOTSTRAP",
    "KNOWN_FAMILIES",  # noqa: F822 - provided by the module __getattr__ below, from the model registry
    "MAX_FACTOR_MAGNITUDE",
    "MIN_RELATIVE_SPAN",
    "REQUIREMENT_PATTERN",
    "Cleaning",
    "Contact",
    "DataSettings",
    "Direction",
    "Factor",
    "LinearConstraint",
    "Measured",
    "Models",
    "Name",
    "Response",
    "RunbookEntry",
    "Split",
    "Study",
    "load_study",
    "study_from_dict",
    "write_study",
]


def _family_names() -> tuple[str, ...]:
    """The families a study file may name: the model registry's (``glassline.models.FAMILIES``).

    Imported on first use, not with this module: the registry imports scikit-learn and xgboost.
    """
    from glassline.models._registry import family_names

    return family_names()


def __getattr__(name: str) -> Any:
    # KNOWN_FAMILIES: the registry's names, read when asked for (see _family_names).
    if name == "KNOWN_FAMILIES":
        return _family_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: The largest magnitude a factor's low or high may have: squares and spans of real values stay finite; its
#: inverse is the narrowest range (a subnormal span such as 1e-320 … 1e-310 cannot be coded).
MAX_FACTOR_MAGNITUDE = 1e100
#: The narrowest range relative to its magnitude: below, coded values (``(x - centre) / half_range``) lose
#: most of their digits, e.g. ``low = 1e15, high = 1e15 + 0.1``.
MIN_RELATIVE_SPAN = 1e-9
_CONTROL_NAMES = {
    "\n": "a newline (\\n)",
    "\r": "a carriage return (\\r)",
    "\t": "a tab (\\t)",
    "\x00": "a NUL (\\x00)",
}


def _number(value: Any) -> Any:
    """Refuse text and booleans where a number is expected: ``low = "8.2"`` is an error, not coerced."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got the boolean {str(value).lower()}")
    if isinstance(value, str):
        raise ValueError(f"expected a number, got the string {value!r}; write the number without quotes")
    return value


def _control_characters(value: str, *, allow: str) -> str:
    """*value*, or a ValueError naming the first control character (NUL, newline, …) not in *allow*."""
    for position, character in enumerate(value):
        if (ord(character) < 32 or ord(character) == 127) and character not in allow:
            shown = _CONTROL_NAMES.get(character, f"the control character {character!r}")
            expected = "text without control characters but newlines and tabs" if allow else "one line of text"
            raise ValueError(f"expected {expected}, got {shown} at position {position} of {value!r}")
    return value


def _one_line(value: str) -> str:
    return _control_characters(value, allow="")


def _paragraph(value: str) -> str:
    return _control_characters(value, allow="\n\r\t")


#: A number in a study file: an integer or a float, never a quoted string or a boolean.
_Number = Annotated[float, BeforeValidator(_number)]
#: A whole number in a study file, never a quoted string or a boolean.
_Count = Annotated[int, BeforeValidator(_number)]
#: A label, unit, level or title: one line, no control characters (NUL, newline, tab).
_Line = Annotated[str, AfterValidator(_one_line)]
#: A description: free text; newlines and tabs allowed, no other control characters (NUL).
_Paragraph = Annotated[str, AfterValidator(_paragraph)]

Name = Annotated[
    str,
    Field(
        min_length=1,
        max_length=80,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="a column name: letters, digits and underscores, not starting with a digit",
    ),
]
Direction = Literal["increasing", "decreasing"]
#: A requirement on a response, e.g. ``adhesion_strength >= 400`` (the process window's constraints).
REQUIREMENT_PATTERN = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$"
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Factor(_Strict):
    """A factor the experiment sets: continuous with a range, or categorical with levels."""

    name: Name
    label: _Line = ""
    unit: _Line = ""
    kind: Literal["continuous", "categorical"] = "continuous"
    low: _Number | None = None
    high: _Number | None = None
    levels: list[_Line] | None = None
    values: list[_Number] | None = None
    description: _Paragraph = ""

    @model_validator(mode="before")
    @classmethod
    def _infer_kind(cls, data: Any) -> Any:
        # levels without a kind mean a categorical factor (as in a design's factor table)
        if isinstance(data, dict) and "kind" not in data and data.get("levels") is not None:
            return {**data, "kind": "categorical"}
        return data

    @model_validator(mode="after")
    def _check_kind(self) -> Factor:
        if self.kind == "continuous":
            if self.low is None or self.high is None:
                raise ValueError("a continuous factor needs both 'low' and 'high'")
            if not (math.isfinite(self.low) and math.isfinite(self.high)):
                raise ValueError(f"'low' and 'high' must be finite numbers, got {self.low} and {self.high}")
            if not self.low < self.high:
                raise ValueError(f"'low' must be below 'high', got low={self.low} and high={self.high}")
            if max(abs(self.low), abs(self.high)) > MAX_FACTOR_MAGNITUDE:
                raise ValueError(
                    f"'low' and 'high' must lie within ±{MAX_FACTOR_MAGNITUDE:g} (so that spans and squares stay "
                    f"finite), got low={self.low:g} and high={self.high:g}; rescale the unit"
                )
            if self.high - self.low < 1 / MAX_FACTOR_MAGNITUDE:
                raise ValueError(
                    f"the range low={self.low!r} … high={self.high!r} is narrower than {1 / MAX_FACTOR_MAGNITUDE:g} "
                    "(coded values would not be representable); rescale the unit"
                )
            if self.high - self.low < MIN_RELATIVE_SPAN * max(abs(self.low), abs(self.high)):
                raise ValueError(
                    f"the range low={self.low!r} … high={self.high!r} is too narrow for its magnitude (at least "
                    f"{MIN_RELATIVE_SPAN:g} of it); shift or rescale the unit"
                )
            if self.levels is not None:
                raise ValueError("'levels' is only for kind = \"categorical\"")
            if self.values is not None:
                allowed = sorted({float(v) for v in self.values})
                if not allowed:
                    raise ValueError(
                        "'values' lists the settings the factor allows: give at least one, or leave it out"
                    )
                outside = [v for v in allowed if not self.low <= v <= self.high]
                if outside:
                    raise ValueError(f"'values' must lie in [{self.low:g}, {self.high:g}], got {list(self.values)}")
                object.__setattr__(self, "values", allowed)
        else:
            levels = list(self.levels or [])
            if len(levels) < 2 or len(set(levels)) != len(levels):
                raise ValueError(f"a categorical factor needs 'levels' with at least two distinct levels, got {levels}")
            if self.low is not None or self.high is not None or self.values is not None:
                raise ValueError("'low'/'high'/'values' are only for continuous factors; use 'levels'")
        return self

    @property
    def centre(self) -> float:
        """Middle of a continuous factor's range (real units)."""
        return (float(self.low) + float(self.high)) / 2  # type: ignore[arg-type]

    @property
    def half_range(self) -> float:
        """Half the width of a continuous factor's range: one coded unit in real units."""
        return (float(self.high) - float(self.low)) / 2  # type: ignore[arg-type]

    def coded_values(self) -> np.ndarray | None:
        """The allowed coded settings (in [-1, 1]) of a continuous factor with fixed ``values``, else None."""
        if self.values is None:
            return None
        return (np.asarray(self.values, dtype=float) - self.centre) / self.half_range

    @property
    def display(self) -> str:
        """The label (or the name) with the unit, e.g. ``Active mass loading [mg/cm²]``."""
        text = self.label or self.name
        return f"{text} [{self.unit}]" if self.unit else text


class Measured(_Strict):
    """An input measured on the line (process or intermediate-product value), not set by the design."""

    name: Name
    label: _Line = ""
    unit: _Line = ""
    description: _Paragraph = ""

    @property
    def display(self) -> str:
        text = self.label or self.name
        return f"{text} [{self.unit}]" if self.unit else text


class Response(_Strict):
    """A quality property the study models.

    ``expect`` holds expert expectations, input name → ``"increasing"``/``"decreasing"``;
    ``scenarios`` restricts the response to some scenarios (default: all); ``level`` names the table
    the response is measured in (responses of one level share one dataset, e.g. ``"cell"``).
    """

    name: Name
    label: _Line = ""
    unit: _Line = ""
    expect: dict[str, Direction] = Field(default_factory=dict)
    scenarios: list[str] | None = None
    level: _Line | None = None
    description: _Paragraph = ""

    @property
    def display(self) -> str:
        text = self.label or self.name
        return f"{text} [{self.unit}]" if self.unit else text


class LinearConstraint(_Strict):
    """``lower ≤ Σ coefficients[f]·f ≤ upper`` over factors, in real units."""

    coefficients: dict[str, _Number]
    lower: _Number | None = None
    upper: _Number | None = None
    label: _Line = ""

    @model_validator(mode="after")
    def _check_bounds(self) -> LinearConstraint:
        if not self.coefficients:
            raise ValueError("'coefficients' must name at least one factor")
        if self.lower is None and self.upper is None:
            raise ValueError("give 'lower', 'upper' or both")
        for key, value in [*self.coefficients.items(), ("lower", self.lower), ("upper", self.upper)]:
            if value is not None and not math.isfinite(value):
                raise ValueError(f"{key!r} must be a finite number, got {value}")
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise ValueError(f"'lower' ({self.lower}) is above 'upper' ({self.upper})")
        return self


class DataSettings(_Strict):
    """How rows relate: ``group`` is the column whose value replicates of one configuration share.

    ``order`` names a numeric column of the prepared tables holding the run order (run number, coil
    position, time): a factor that moved with it gets a ``confounded_with_order`` warning (see
    :mod:`glassline.explain._order`).
    """

    group: Name | None = None
    order: Name | None = None


class Split(_Strict):
    """The paper's shared random test split and the grouped repeated cross-validation."""

    test_fraction: _Number = Field(0.2, gt=0.0, lt=1.0)
    cv_folds: _Count = Field(5, ge=2, le=100)
    cv_repeats: _Count = Field(5, ge=1, le=1000)


#: Grouped bootstrap refits of each target's lead model in the explanation stage (``[models] bootstrap``; the
#: other families of the lead scenario get a tenth): 100. Measured on the demo (``glassline demo``, seed 2023;
#: 8 bootstrap seeds, the 25 effects of the 9 lead models): the Monte-Carlo standard deviation of the 5 % and
#: 95 % quantiles is 7.7 % of their 90 % interval's width at the median end and 16 % at the worst, against 10 %
#: (28 %) at 50 refits and 13 % (33 %) at 25; normal theory gives 2.1 σ / √N per quantile, 6.5 % of the 3.29 σ
#: width at 100. The refits cost about 29 CPU-seconds on the demo (11–13 ms per linear or quadratic refit,
#: 143 ms per random-forest refit), about 15 s on two cores. 0 switches the bootstrap off.
DEFAULT_BOOTSTRAP = 100


class Models(_Strict):
    """Which model families to compare, the collinearity limits of a scenario's inputs, and the bootstrap.

    Beyond a soft limit (max VIF or max |r|) a scenario is explained with a ``collinear`` warning; beyond a
    hard limit (near-copies) its explanations are withheld. Defaults and their sources: see
    :class:`glassline.models.CollinearityLimits` (soft |r| 0.3 from the paper, soft VIF 5 and hard VIF 10 from
    ISL §3.3.3, hard |r| 0.95 the pairwise form of VIF 10).

    ``bootstrap``: grouped bootstrap refits (configurations resampled) per model of each target's lead
    scenario in the explanation stage, for the CIs, direction and rank probabilities of ``claims.csv``;
    default :data:`DEFAULT_BOOTSTRAP`, 0 for none (``glassline explain --bootstrap N`` overrides it).
    """

    families: list[str] = Field(default_factory=lambda: list(_family_names()), min_length=1)
    collinearity_soft_vif: float = Field(SOFT_VIF_LIMIT, ge=1.0, allow_inf_nan=False)
    collinearity_hard_vif: float = Field(HARD_VIF_LIMIT, ge=1.0, allow_inf_nan=False)
    collinearity_soft_r: float = Field(SOFT_R_LIMIT, gt=0.0, le=1.0)
    collinearity_hard_r: float = Field(HARD_R_LIMIT, gt=0.0, le=1.0)
    bootstrap: _Count = Field(DEFAULT_BOOTSTRAP, ge=0, le=100_000)

    @model_validator(mode="after")
    def _soft_below_hard(self) -> Models:
        problem = self.collinearity_limits.problem()
        if problem is not None:
            field_name, message = problem
            raise _FieldError(f"models.collinearity_{field_name}", message)
        return self

    @property
    def collinearity_limits(self) -> CollinearityLimits:
        """The four limits as one object (see :class:`glassline.models.CollinearityLimits`)."""
        return CollinearityLimits(
            soft_vif=self.collinearity_soft_vif,
            hard_vif=self.collinearity_hard_vif,
            soft_r=self.collinearity_soft_r,
            hard_r=self.collinearity_hard_r,
        )

    @field_validator("families")
    @classmethod
    def _known(cls, families: list[str]) -> list[str]:
        known = _family_names()
        for family in families:
            if family not in known:
                raise ValueError(
                    f"unknown model family {family!r}; expected one of {list(known)}." + did_you_mean(family, known)
                )
        if len(set(families)) != len(families):
            raise ValueError(f"families listed twice: {families}")
        return families


class Cleaning(_Strict):
    """Outlier rules per group (see :class:`glassline.data.OutlierRule`).

    ``"pooled"`` (default): each value against the mean of the other values of its group, on a scale
    pooled within all groups of the response, flagged beyond the t quantile for ``outlier_alpha``
    false exclusions per value (0.1 %), whatever the group size. ``"sd"``: the paper's ±k·SD of the
    group (k = ``outlier_sd`` = 1.5). ``"mad"``: ±k·MAD around the group's median (k = ``outlier_mad``).
    """

    outlier_rule: Literal["pooled", "sd", "mad"] = "pooled"
    #: the pooled rule's false-exclusion rate per value under normal noise (0 disables the rule)
    outlier_alpha: _Number = Field(0.0001, ge=0.0, lt=0.5, allow_inf_nan=False)
    #: the pooled rule's scale: "relative" (log values, spread ∝ level), "absolute", or "auto" (relative
    #: when every value of the response is > 0)
    outlier_scale: Literal["auto", "absolute", "relative"] = "auto"
    outlier_sd: _Number = Field(1.5, ge=0.0, allow_inf_nan=False)
    #: 0: population SD (numpy, scipy.stats.zscore); 1: sample SD. See glassline.data.OutlierRule.
    outlier_ddof: Literal[0, 1] = 0
    outlier_mad: _Number = Field(3.5, ge=0.0, allow_inf_nan=False)


#: The alarm kinds of monitoring (:mod:`glassline.monitor`), which a ``[[runbook]]`` entry may name.
ALARM_KINDS = ("input_drift", "prediction_drift", "attribution_drift", "ood_rate", "performance", "coverage")


class RunbookEntry(_Strict):
    """What to do about one alarm kind (for one input, or any): ``[[runbook]]`` in the study file."""

    alarm: Literal["input_drift", "prediction_drift", "attribution_drift", "ood_rate", "performance", "coverage"]
    input: Name | None = None
    steps: list[_Line] = Field(min_length=1)


class Contact(_Strict):
    """Who to call about the model: ``[[contacts]]`` in the study file (in the handover pack)."""

    role: _Line = Field(min_length=1)
    name: _Line = Field(min_length=1)
    email: _Line = ""
    phone: _Line = ""


class Study(_Strict):
    """A whole study: factors, measured inputs, responses, scenarios and the settings of each stage."""

    name: _Line = Field(min_length=1)
    description: _Paragraph = ""
    seed: _Count = Field(0, ge=0, le=2**32 - 1)
    #: the domain pack whose physics checks, report figures and phrases this study uses (``domain = "electrode"``);
    #: None for a domain-free study (see :mod:`glassline.domains`)
    domain: str | None = Field(None, min_length=1, max_length=80, pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$")
    factors: list[Factor] = Field(min_length=1)
    measured: list[Measured] = Field(default_factory=list)
    responses: list[Response] = Field(min_length=1)
    scenarios: dict[_Line, list[Name]] = Field(default_factory=dict)
    constraints: list[LinearConstraint] = Field(default_factory=list)
    data: DataSettings = Field(default_factory=lambda: DataSettings())
    split: Split = Field(default_factory=lambda: Split())
    models: Models = Field(default_factory=lambda: Models())
    cleaning: Cleaning = Field(default_factory=lambda: Cleaning())
    #: constraints on responses that define the process window, e.g. ``["adhesion_strength >= 400"]``
    requirements: list[_Line] = Field(default_factory=list)
    #: monitoring: steps per alarm kind and input, and who looks after the model (both optional)
    runbook: list[RunbookEntry] = Field(default_factory=list)
    contacts: list[Contact] = Field(default_factory=list)

    @model_validator(mode="after")
    def _cross_check(self) -> Study:
        names: dict[str, str] = {}
        kinds = {Factor: "factors", Measured: "measured", Response: "responses"}
        counters = dict.fromkeys(kinds.values(), 0)
        for item in self.columns():
            kind = kinds[type(item)]
            i = counters[kind]
            counters[kind] += 1
            if item.name in names:
                raise _FieldError(
                    f"{kind}[{i}].name",
                    f"the name {item.name!r} is already used in {names[item.name]}; every column name must be unique",
                )
            names[item.name] = kind
        if self.data.group is not None and self.data.group in names:
            raise _FieldError(
                "data.group", f"the group column {self.data.group!r} is also a {names[self.data.group]} name"
            )
        order_clash = names.get(self.data.order or "") in ("factors", "responses")
        if self.data.order is not None and (order_clash or self.data.order == self.data.group):
            kind = f"a {names[self.data.order]} name" if self.data.order in names else "the group column"
            raise _FieldError("data.order", f"the order column {self.data.order!r} is also {kind}")
        if not self.scenarios:
            object.__setattr__(self, "scenarios", {"factors": [f.name for f in self.factors]})
        inputs = self.input_names
        for scenario, columns in self.scenarios.items():
            if not columns:
                raise _FieldError(f"scenarios.{scenario}", "a scenario needs at least one input")
            if len(set(columns)) != len(columns):
                raise _FieldError(f"scenarios.{scenario}", f"an input is listed twice: {columns}")
            for j, column in enumerate(columns):
                if column not in inputs:
                    raise _FieldError(
                        f"scenarios.{scenario}[{j}]",
                        f"{column!r} is neither a factor nor a measured column"
                        + (" (it is a response)" if column in names else "")
                        + f"; inputs are {inputs}."
                        + did_you_mean(column, inputs),
                    )
        for i, response in enumerate(self.responses):
            for column in response.expect:
                if column not in inputs:
                    raise _FieldError(
                        f"responses[{i}].expect.{column}",
                        f"{column!r} is neither a factor nor a measured column; inputs are {inputs}."
                        + did_you_mean(column, inputs),
                    )
            for j, scenario in enumerate(response.scenarios or []):
                if scenario not in self.scenarios:
                    raise _FieldError(
                        f"responses[{i}].scenarios[{j}]",
                        f"no scenario named {scenario!r}; scenarios are {list(self.scenarios)}."
                        + did_you_mean(scenario, self.scenarios),
                    )
        responses = self.response_names
        for i, requirement in enumerate(self.requirements):
            match = REQUIREMENT_PATTERN.match(requirement)
            if match is None:
                raise _FieldError(
                    f"requirements[{i}]",
                    f'expected RESPONSE OP NUMBER with OP one of >=, <=, >, < (e.g. "adhesion_strength >= 400"), '
                    f"got {requirement!r}",
                )
            if match.group(1) not in responses:
                raise _FieldError(
                    f"requirements[{i}]",
                    f"{match.group(1)!r} is not a response; responses are {responses}."
                    + did_you_mean(match.group(1), responses),
                )
        for i, entry in enumerate(self.runbook):
            if entry.input is not None and entry.input not in inputs:
                raise _FieldError(
                    f"runbook[{i}].input",
                    f"{entry.input!r} is neither a factor nor a measured column; inputs are {inputs}."
                    + did_you_mean(entry.input, inputs),
                )
        factor_names = [f.name for f in self.factors]
        for i, constraint in enumerate(self.constraints):
            for column in constraint.coefficients:
                factor = next((f for f in self.factors if f.name == column), None)
                if factor is None or factor.kind != "continuous":
                    raise _FieldError(
                        f"constraints[{i}].coefficients.{column}",
                        f"{column!r} is not a continuous factor; factors are {factor_names}."
                        + did_you_mean(column, factor_names),
                    )
        return self

    # ----------------------------------------------------------------- convenience views
    @property
    def input_names(self) -> list[str]:
        """Factor names, then measured-column names."""
        return [f.name for f in self.factors] + [m.name for m in self.measured]

    @property
    def factor_names(self) -> list[str]:
        return [f.name for f in self.factors]

    @property
    def response_names(self) -> list[str]:
        return [r.name for r in self.responses]

    def factor(self, name: str) -> Factor:
        """The factor called *name* (:class:`~glassline.exceptions.UnknownNameError` with a did-you-mean otherwise)."""
        for factor in self.factors:
            if factor.name == name:
                return factor
        raise UnknownNameError(
            f"no factor named {name!r}; factors are {self.factor_names}." + did_you_mean(name, self.factor_names)
        )

    def response(self, name: str) -> Response:
        """The response called *name* (:class:`~glassline.exceptions.UnknownNameError`, did-you-mean, otherwise)."""
        for response in self.responses:
            if response.name == name:
                return response
        raise UnknownNameError(
            f"no response named {name!r}; responses are {self.response_names}."
            + did_you_mean(name, self.response_names)
        )

    def columns(self) -> list[Factor | Measured | Response]:
        """Every column the study names: factors, measured inputs, responses."""
        return [*self.factors, *self.measured, *self.responses]

    def column(self, name: str) -> Factor | Measured | Response:
        """The factor, measured column or response called *name*."""
        for item in self.columns():
            if item.name == name:
                return item
        every = self.input_names + self.response_names
        raise UnknownNameError(
            f"no column named {name!r} in the study; columns are {every}." + did_you_mean(name, every)
        )

    def scenarios_for(self, response: str) -> dict[str, list[str]]:
        """The scenarios (name → inputs) that apply to *response*."""
        allowed = self.response(response).scenarios
        return {k: v for k, v in self.scenarios.items() if allowed is None or k in allowed}

    def units(self) -> dict[str, str]:
        """Column name → unit for every factor, measured column and response."""
        return {item.name: item.unit for item in self.columns()}

    def with_seed(self, seed: int | None) -> Study:
        """This study with *seed* as its seed (None: unchanged): one seed for every stage of a run.

        Raises :class:`~glassline.exceptions.SpecError` for a seed outside 0 … 2³² − 1.
        """
        if seed is None or seed == self.seed:
            return self
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= int(seed) <= 2**32 - 1:
            raise SpecError(f"seed: expected an integer from 0 to {2**32 - 1}, got {seed!r}")
        return self.model_copy(update={"seed": int(seed)})


class _FieldError(ValueError):
    """Raised inside validators to point at a field path other than the current one."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def _location(loc: Iterable[Any]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            text = str(part)
            if any(ord(c) < 32 or ord(c) == 127 for c in text):  # a key with a newline stays on one line
                text = repr(text)
            path += f".{text}" if path else text
    return path or "(top level)"


def _describe(error: dict[str, Any], raw: Any) -> tuple[str, str]:
    """Field path and message for one pydantic error, with did-you-mean for unknown keys."""
    loc = list(error.get("loc", ()))
    kind = error.get("type", "")
    if kind == "extra_forbidden" and loc:
        key = str(loc[-1])
        parent = loc[:-1]
        allowed = _allowed_keys(parent, raw)
        hint = did_you_mean(key, allowed) if allowed else ""
        where = _location(parent)
        return where, f"unknown field {key!r}; allowed fields are {sorted(allowed)}.{hint}"
    if kind == "missing":
        return _location(loc), "this field is required but missing"
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    # model_validator errors carry the _FieldError path in ctx
    ctx = error.get("ctx") or {}
    original = ctx.get("error")
    if isinstance(original, _FieldError):
        return original.path, original.message
    if kind not in {"value_error", "assertion_error"} and "input" in error:
        message += f" (got {error['input']!r})"
    return _location(loc), message


_MODELS: dict[str, type[BaseModel]] = {
    "factors": Factor,
    "measured": Measured,
    "responses": Response,
    "constraints": LinearConstraint,
    "data": DataSettings,
    "split": Split,
    "models": Models,
    "cleaning": Cleaning,
}


def _allowed_keys(parent: list[Any], raw: Any) -> list[str]:
    names = [p for p in parent if isinstance(p, str)]
    if not names:
        return list(Study.model_fields)
    model = _MODELS.get(names[0])
    if model is None or len(names) > 1:
        return []
    return list(model.model_fields)


def study_from_dict(raw: dict[str, Any], *, source: str = "<study>") -> Study:
    """Validate a study given as a mapping (the parsed TOML); *source* names it in errors."""
    try:
        return Study.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            where, message = _describe(dict(error), raw)
            lines.append(f"{source}: {where}: {message}")
        shown = lines[:5]
        more = f"\n… and {len(lines) - 5} more problems" if len(lines) > 5 else ""
        raise SpecError("\n".join(shown) + more) from None


def load_study(path: str | Path) -> Study:
    """Read and validate a study file (TOML).

    Raises :class:`~glassline.exceptions.SpecError` naming the file, the field path and what was
    expected; a missing file raises ``SpecError`` too (it is also a ``ValueError``).
    """
    path = Path(path)
    if not path.exists():
        raise SpecError(f"{path}: no such study file")
    if path.is_dir():
        raise SpecError(f"{path}: is a folder; expected a study file (TOML)")
    try:
        # utf-8-sig: a byte-order mark (Windows editors write one) is accepted and dropped
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None
    return study_from_dict(raw, source=str(path))


def write_study(study: Study, path: str | Path) -> Path:
    """Write *study* as a TOML study file that :func:`load_study` reads back to an equal study."""
    import tomli_w

    path = output_path(path, what="study file")
    with writing(path, what="study file"):
        path.write_text(tomli_w.dumps(study.model_dump(exclude_none=True)), encoding="utf-8")
    return path
