"""Tests for glassline.domains.electrode.constants: every fact has a unit and a source, derived facts agree."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator

import pytest

from glassline.domains.electrode import constants as c
from glassline.domains.electrode import physics


def _walk(name: str, value: object) -> Iterator[tuple[str, object]]:
    """Yield every Sourced / SourcedRange reachable from a module attribute, with a dotted path."""
    if isinstance(value, c.Sourced | c.SourcedRange):
        yield name, value
    elif isinstance(value, tuple):
        for i, item in enumerate(value):
            yield from _walk(f"{name}[{i}]", item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from _walk(f"{name}.{field.name}", getattr(value, field.name))


ALL_FACTS = [fact for attr in c.__all__ for fact in _walk(attr, getattr(c, attr))]


def test_there_are_many_facts() -> None:
    assert len(ALL_FACTS) > 40


@pytest.mark.parametrize(("name", "fact"), ALL_FACTS, ids=[name for name, _ in ALL_FACTS])
def test_every_fact_has_a_unit_and_a_source(name: str, fact: c.Sourced | c.SourcedRange) -> None:
    assert fact.unit.strip(), name
    assert fact.source.strip(), name


@pytest.mark.parametrize(("name", "fact"), ALL_FACTS, ids=[name for name, _ in ALL_FACTS])
def test_every_fact_is_a_finite_number(name: str, fact: c.Sourced | c.SourcedRange) -> None:
    numbers = [fact.value] if isinstance(fact, c.Sourced) else [fact.low, fact.high]
    assert all(isinstance(x, float) and math.isfinite(x) for x in numbers), name


def test_all_lists_every_public_name_once() -> None:
    public = {name for name in vars(c) if name[:1].isupper()}
    assert len(c.__all__) == len(set(c.__all__))
    assert set(c.__all__) == public


def test_sourced_behaves_like_a_float_and_is_frozen() -> None:
    x = c.Sourced(2.5, "mm", "somewhere")
    assert float(x) == 2.5
    assert "2.5 mm" in str(x)
    with pytest.raises(dataclasses.FrozenInstanceError):
        x.value = 3.0  # type: ignore[misc]


def test_sourced_range_checks_its_bounds() -> None:
    r = c.SourcedRange(1.0, 3.0, "mm", "somewhere")
    assert r.span == 2.0
    assert 2.0 in r
    assert 3.5 not in r
    assert "x" not in r
    with pytest.raises(ValueError, match="low < high"):
        c.SourcedRange(3.0, 1.0, "mm", "somewhere")


# --- Table 2 --------------------------------------------------------------------------------------


def test_design_factor_ranges_are_those_of_table_2() -> None:
    assert (c.ACTIVE_MASS_LOADING_RANGE.low, c.ACTIVE_MASS_LOADING_RANGE.high) == (8.2, 11.2)
    assert (c.SECOND_DRYER_TEMPERATURE_RANGE.low, c.SECOND_DRYER_TEMPERATURE_RANGE.high) == (50.0, 65.0)
    assert (c.POROSITY_RANGE.low, c.POROSITY_RANGE.high) == (0.25, 0.40)
    assert "Table 2" in c.POROSITY_RANGE.source
    # The fixed first and third dryers bracket the second dryer's range.
    assert float(c.FIRST_DRYER_TEMPERATURE) == c.SECOND_DRYER_TEMPERATURE_RANGE.low
    assert float(c.THIRD_DRYER_TEMPERATURE) == c.SECOND_DRYER_TEMPERATURE_RANGE.high


# --- Table 3 --------------------------------------------------------------------------------------


@pytest.mark.parametrize("formulation", [c.ANODE, c.CATHODE], ids=["anode", "cathode"])
def test_formulation_fractions_sum_to_100_wt_pct(formulation: c.Formulation) -> None:
    assert formulation.total_mass_fraction_wt_pct == pytest.approx(100.0, abs=1e-12)
    assert all(comp.mass_fraction.unit == "wt%" for comp in formulation.components)


def test_anode_formulation_is_that_of_table_3() -> None:
    assert c.ANODE.active_material.name.startswith("graphite")
    assert c.ANODE.active_fraction == pytest.approx(0.94)
    assert float(c.ANODE.theoretical_density) == 2.158
    assert float(c.ANODE.solid_content) == 52.0
    assert float(c.ANODE.specific_capacity) == 355.0
    binders = {comp.name: float(comp.mass_fraction) for comp in c.ANODE.components if comp.role == "binder"}
    assert binders == {"CMC": 2.0, "SBR": 3.0}


def test_cathode_formulation_is_that_of_table_3() -> None:
    assert c.CATHODE.active_material.name == "NCM622"
    assert c.CATHODE.active_fraction == pytest.approx(0.955)
    assert float(c.CATHODE.theoretical_density) == 4.447
    assert float(c.CATHODE.solid_content) == 78.0
    assert float(c.CATHODE.specific_capacity) == 170.0
    assert float(c.CATHODE_POROSITY) == 0.30


def test_cathode_loadings_match_the_anode_levels_at_the_np_ratio() -> None:
    # Four anode levels 8.2, 9.2, 10.2, 11.2 mg/cm²; cathode m_AM = m_anode·355/(N:P·170),
    # e.g. 8.2·355/(1.2·170) = 2911/204 = 14.27 mg/cm².
    anode_levels = [c.ACTIVE_MASS_LOADING_RANGE.low + k for k in range(4)]
    ratio = float(c.ANODE.specific_capacity) / (float(c.NP_RATIO) * float(c.CATHODE.specific_capacity))
    for anode, cathode in zip(anode_levels, c.CATHODE_ACTIVE_LOADINGS, strict=True):
        assert float(cathode) == pytest.approx(anode * ratio, abs=0.006)


def test_specific_capacity_is_below_graphite_theoretical_capacity() -> None:
    assert float(c.ANODE.specific_capacity) < float(c.GRAPHITE_THEORETICAL_CAPACITY) == 372.0


# --- Line, Table 4, cells, EIS, tortuosity relations ----------------------------------------------


def test_coating_line_facts() -> None:
    assert float(c.COPPER_FOIL_THICKNESS) == 10.0
    assert float(c.COATING_SPEED) == 0.6
    assert c.WET_MASS_SENSOR_POSITION.unit == c.DRY_MASS_SENSOR_POSITION.unit == "m"
    assert "assumption" in c.WET_MASS_SENSOR_POSITION.source
    assert float(c.DRY_MASS_SENSOR_POSITION) - float(c.WET_MASS_SENSOR_POSITION) == pytest.approx(6.0)
    # 6 m at 0.6 m/min: 10 min from the wet-mass to the dry-mass sensor.
    assert float(c.SENSOR_TRANSIT_TIME) == pytest.approx(10.0)


def test_pull_off_parameters_are_those_of_table_4() -> None:
    got = [
        c.PULL_OFF_DATA_ACQUISITION_RATE,
        c.PULL_OFF_COMPRESSION_STRESS,
        c.PULL_OFF_SPECIMEN_AREA,
        c.PULL_OFF_DWELL_TIME,
        c.PULL_OFF_COMPRESSION_VELOCITY,
        c.PULL_OFF_VELOCITY,
    ]
    assert [(float(x), x.unit) for x in got] == [
        (2000.0, "Hz"),
        (1500.0, "kPa"),
        (50.26, "mm²"),
        (30.0, "s"),
        (0.75, "mm/min"),
        (100.0, "mm/min"),
    ]
    assert all("Table 4" in x.source for x in got)
    # 50.26 mm² is a round specimen of 8 mm diameter: π·4² = 50.27 mm².
    assert float(c.PULL_OFF_SPECIMEN_AREA) == pytest.approx(math.pi * 4.0**2, abs=0.01)


@pytest.mark.parametrize(
    ("area", "diameter", "expected_cm2"),
    [
        # π·(1.5 cm/2)² = π·0.5625 = 1.7671 cm²
        (c.ANODE_DISC_AREA, c.ANODE_DISC_DIAMETER, 1.76715),
        # π·(1.4 cm/2)² = π·0.49 = 1.5394 cm²
        (c.CATHODE_DISC_AREA, c.CATHODE_DISC_DIAMETER, 1.53938),
    ],
    ids=["anode", "cathode"],
)
def test_disc_areas_are_computed_from_diameters(area: c.Sourced, diameter: c.Sourced, expected_cm2: float) -> None:
    radius_cm = float(diameter) / 20.0
    assert float(area) == pytest.approx(math.pi * radius_cm**2, rel=1e-15)
    assert float(area) == pytest.approx(physics.disc_area_cm2(float(diameter)), rel=1e-15)
    assert float(area) == pytest.approx(expected_cm2, abs=1e-5)
    assert area.unit == "cm²"


def test_cell_and_eis_facts() -> None:
    assert float(c.SEPARATOR_DISC_DIAMETER) > float(c.ANODE_DISC_DIAMETER) > float(c.CATHODE_DISC_DIAMETER)
    assert float(c.NP_RATIO) == 1.2
    assert float(c.ELECTROLYTE_CONDUCTIVITY) == 350.0
    assert float(c.ELECTROLYTE_CONDUCTIVITY_S_CM) == pytest.approx(3.5e-4, rel=1e-15)
    assert (c.EIS_FREQUENCY_RANGE.low, c.EIS_FREQUENCY_RANGE.high) == (0.1, 10_000.0)
    assert float(c.EIS_POINTS_PER_DECADE) == 10.0
    assert float(c.EIS_AMPLITUDE) == 20.0


def test_tortuosity_relation_constants_are_those_of_eqs_4_and_5() -> None:
    assert float(c.BRUGGEMAN_ALPHA) == 0.5
    assert (float(c.MODIFIED_BRUGGEMAN_PREFACTOR), float(c.MODIFIED_BRUGGEMAN_ALPHA)) == (2.3, 0.31)
    assert "Eq. 5" in c.MODIFIED_BRUGGEMAN_ALPHA.source
    assert "Mayilvahanan" in c.MODIFIED_BRUGGEMAN_PREFACTOR.source
