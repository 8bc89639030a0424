"""Facts of the electrode reference case, as data with units and sources.

glassline's reference case is the graphite-anode pilot line of Haghi et al., "Efficient Analysis of
Interdependencies in Electrode Manufacturing Through Joint Application of Design of Experiments and
Explainable Machine Learning", Batteries & Supercaps 2023, doi:10.1002/batt.202300457 (cited below as
"Haghi et al. 2023"). Every number is written here once, as a :class:`Sourced` value (or a
:class:`SourcedRange`) that carries its unit and where it came from; numbers that follow from others
(disc areas, conversions, sensor transit time) are computed, not typed in. Values that are modelling
assumptions rather than reported facts say so in their ``note``.

Porosities are stored as fractions (0.25, not 25 %), because that is what
:mod:`glassline.domains.electrode.physics` takes; the paper reports them in per cent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "ACTIVE_MASS_LOADING_RANGE",
    "ANODE",
    "ANODE_DISC_AREA",
    "ANODE_DISC_DIAMETER",
    "BRUGGEMAN_ALPHA",
    "CALENDER_WEB_SPEED",
    "CATHODE",
    "CATHODE_ACTIVE_LOADINGS",
    "CATHODE_DISC_AREA",
    "CATHODE_DISC_DIAMETER",
    "CATHODE_POROSITY",
    "COATING_SPEED",
    "COPPER_FOIL_THICKNESS",
    "DRY_MASS_SENSOR_POSITION",
    "EIS_AMPLITUDE",
    "EIS_FREQUENCY_RANGE",
    "EIS_POINTS_PER_DECADE",
    "ELECTROLYTE_CONDUCTIVITY",
    "ELECTROLYTE_CONDUCTIVITY_S_CM",
    "FIRST_DRYER_TEMPERATURE",
    "GRAPHITE_THEORETICAL_CAPACITY",
    "MODIFIED_BRUGGEMAN_ALPHA",
    "MODIFIED_BRUGGEMAN_PREFACTOR",
    "NP_RATIO",
    "PAPER",
    "POROSITY_RANGE",
    "PULL_OFF_COMPRESSION_STRESS",
    "PULL_OFF_COMPRESSION_VELOCITY",
    "PULL_OFF_DATA_ACQUISITION_RATE",
    "PULL_OFF_DWELL_TIME",
    "PULL_OFF_SPECIMEN_AREA",
    "PULL_OFF_VELOCITY",
    "SECOND_DRYER_TEMPERATURE_RANGE",
    "SENSOR_SPAN",
    "SENSOR_TRANSIT_TIME",
    "SEPARATOR_DISC_DIAMETER",
    "THIRD_DRYER_TEMPERATURE",
    "WET_MASS_SENSOR_POSITION",
    "Component",
    "Formulation",
    "Sourced",
    "SourcedRange",
]

PAPER = "Haghi et al. 2023 (Batteries & Supercaps, doi:10.1002/batt.202300457)"
"""The reference-case paper; section, table and equation citations below refer to it."""

_TABLE_2 = "Haghi et al. 2023, Table 2"
_TABLE_3 = "Haghi et al. 2023, Table 3"
_TABLE_4 = "Haghi et al. 2023, Table 4"
_COATING = "Haghi et al. 2023, Experimental Section, Coating and Drying"
_CALENDERING = "Haghi et al. 2023, Experimental Section, Calendering"
_COIN_CELLS = "Haghi et al. 2023, Experimental Section, Coin Cell Assembly"
_EIS = "Haghi et al. 2023, Experimental Section, Potentiostatic Electrochemical Impedance Spectroscopy"
_LINE_DATA = "Haghi et al. 2023, Data Preprocessing and Analysis"
_ASSUMPTION = "glassline modelling assumption"


@dataclass(frozen=True, slots=True)
class Sourced:
    """A number with its unit and the place it comes from.

    ``float(x)`` gives the bare value, so a :class:`Sourced` can be passed wherever a float is
    expected (``physics.thickness_from_loading(9.2, 0.3, float(ANODE.theoretical_density), ...)``).
    """

    value: float
    unit: str
    source: str
    note: str = ""

    def __float__(self) -> float:
        return float(self.value)

    def __str__(self) -> str:
        return f"{self.value:g} {self.unit} ({self.source})"


@dataclass(frozen=True, slots=True)
class SourcedRange:
    """A closed interval ``[low, high]`` with its unit and source, e.g. a factor range of the design."""

    low: float
    high: float
    unit: str
    source: str
    note: str = ""

    def __post_init__(self) -> None:
        if not self.low < self.high:
            raise ValueError(f"SourcedRange needs low < high. Got low={self.low!r}, high={self.high!r}.")

    @property
    def span(self) -> float:
        """``high - low``."""
        return self.high - self.low

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, int | float):
            return False
        return self.low <= value <= self.high

    def __str__(self) -> str:
        return f"{self.low:g}–{self.high:g} {self.unit} ({self.source})"


@dataclass(frozen=True, slots=True)
class Component:
    """One ingredient of an electrode's dry mass."""

    name: str
    role: str
    mass_fraction: Sourced
    """Share of the dry coating mass, in wt%."""


@dataclass(frozen=True, slots=True)
class Formulation:
    """An electrode recipe: its components and the properties Table 3 reports for it."""

    electrode: str
    components: tuple[Component, ...]
    theoretical_density: Sourced
    solid_content: Sourced
    specific_capacity: Sourced

    @property
    def active_material(self) -> Component:
        """The (single) component whose role is ``"active material"``."""
        (active,) = (c for c in self.components if c.role == "active material")
        return active

    @property
    def active_fraction(self) -> float:
        """Mass fraction of active material in the dry coating, as a fraction (0.94, not 94 wt%)."""
        return float(self.active_material.mass_fraction) / 100.0

    @property
    def total_mass_fraction_wt_pct(self) -> float:
        """Sum of the component mass fractions in wt% (100 for a complete recipe)."""
        return math.fsum(float(c.mass_fraction) for c in self.components)


def _wt_pct(value: float) -> Sourced:
    return Sourced(value, "wt%", _TABLE_3)


def _disc_area(diameter: Sourced) -> Sourced:
    """Area of a disc in cm² from its diameter in mm: A = π·(d/2)², with 10 mm per cm."""
    if diameter.unit != "mm":
        raise ValueError(f"Disc diameters must be in 'mm'. Got {diameter.unit!r} instead.")
    radius_cm = float(diameter) / 2.0 / 10.0
    return Sourced(math.pi * radius_cm**2, "cm²", f"computed as π·(d/2)² from {diameter.source}")


# --- Design factors (Table 2) -------------------------------------------------------------------

ACTIVE_MASS_LOADING_RANGE = SourcedRange(
    8.2, 11.2, "mg/cm²", _TABLE_2, note="Coating factor; the range refers to active material only."
)
SECOND_DRYER_TEMPERATURE_RANGE = SourcedRange(50.0, 65.0, "°C", _TABLE_2, note="Drying factor.")
POROSITY_RANGE = SourcedRange(
    0.25, 0.40, "1 (volume fraction)", _TABLE_2, note="Calendering factor; Table 2 gives 25–40 %."
)

# --- Formulations (Table 3) ---------------------------------------------------------------------

ANODE = Formulation(
    electrode="anode",
    components=(
        Component("graphite (SMGA5)", "active material", _wt_pct(94.0)),
        Component("carbon black (C65)", "conductive additive", _wt_pct(1.0)),
        Component("CMC", "binder", _wt_pct(2.0)),
        Component("SBR", "binder", _wt_pct(3.0)),
    ),
    theoretical_density=Sourced(2.158, "g/cm³", _TABLE_3),
    solid_content=Sourced(52.0, "wt%", _TABLE_3, note="Solids share of the slurry."),
    specific_capacity=Sourced(355.0, "mAh/g", _TABLE_3, note="Per gram of active material."),
)

CATHODE = Formulation(
    electrode="cathode",
    components=(
        Component("NCM622", "active material", _wt_pct(95.5)),
        Component("carbon black (C65)", "conductive additive", _wt_pct(2.25)),
        Component("conductive graphite (SFG6L)", "conductive additive", _wt_pct(0.75)),
        Component("PVDF", "binder", _wt_pct(1.5)),
    ),
    theoretical_density=Sourced(4.447, "g/cm³", _TABLE_3),
    solid_content=Sourced(78.0, "wt%", _TABLE_3, note="Solids share of the slurry."),
    specific_capacity=Sourced(170.0, "mAh/g", _TABLE_3, note="Per gram of active material."),
)

CATHODE_POROSITY = Sourced(0.30, "1 (volume fraction)", _CALENDERING, note="Target porosity, 30 %.")
CATHODE_ACTIVE_LOADINGS: tuple[Sourced, ...] = tuple(
    Sourced(value, "mg/cm²", _COATING, note="Active mass loading; matches the anode levels at N:P 1.2.")
    for value in (14.27, 16.01, 17.75, 19.49)
)
GRAPHITE_THEORETICAL_CAPACITY = Sourced(
    372.0, "mAh/g", "theoretical capacity of graphite (LiC6), standard textbook value"
)

# --- Coating line -------------------------------------------------------------------------------

COPPER_FOIL_THICKNESS = Sourced(10.0, "µm", _COATING, note="Anode current collector (SE-Cu58).")
COATING_SPEED = Sourced(0.6, "m/min", _COATING)
FIRST_DRYER_TEMPERATURE = Sourced(50.0, "°C", _COATING)
THIRD_DRYER_TEMPERATURE = Sourced(65.0, "°C", _COATING)
CALENDER_WEB_SPEED = Sourced(1.0, "m/min", _CALENDERING)

SENSOR_SPAN = Sourced(
    6.0,
    "m",
    _LINE_DATA,
    note="'sensors located at specific positions over a span of approximately 6 meters'; glassline "
    "takes it as the distance from the wet-mass to the dry-mass sensor (assumption).",
)
WET_MASS_SENSOR_POSITION = Sourced(
    0.3,
    "m",
    _ASSUMPTION,
    note="Distance downstream of the doctor blade. The paper says only 'immediately after coating' "
    "(ultrasound CFS400-USMX200).",
)
DRY_MASS_SENSOR_POSITION = Sourced(
    float(WET_MASS_SENSOR_POSITION) + float(SENSOR_SPAN),
    "m",
    f"computed as WET_MASS_SENSOR_POSITION + SENSOR_SPAN ({_ASSUMPTION})",
    note="Distance downstream of the doctor blade, after the third dryer (ultrasound OF400-USMX200).",
)
SENSOR_TRANSIT_TIME = Sourced(
    float(SENSOR_SPAN) / float(COATING_SPEED),
    "min",
    "computed as SENSOR_SPAN / COATING_SPEED",
    note="Time a web element needs from the wet-mass to the dry-mass sensor.",
)

# --- Pull-off adhesion test (Table 4) -----------------------------------------------------------

PULL_OFF_DATA_ACQUISITION_RATE = Sourced(2000.0, "Hz", _TABLE_4)
PULL_OFF_COMPRESSION_STRESS = Sourced(1500.0, "kPa", _TABLE_4)
PULL_OFF_SPECIMEN_AREA = Sourced(50.26, "mm²", _TABLE_4, note="A round specimen (about 8 mm across).")
PULL_OFF_DWELL_TIME = Sourced(30.0, "s", _TABLE_4)
PULL_OFF_COMPRESSION_VELOCITY = Sourced(0.75, "mm/min", _TABLE_4)
PULL_OFF_VELOCITY = Sourced(100.0, "mm/min", _TABLE_4)

# --- Coin cells, electrolyte and EIS ------------------------------------------------------------

ANODE_DISC_DIAMETER = Sourced(15.0, "mm", _COIN_CELLS)
CATHODE_DISC_DIAMETER = Sourced(14.0, "mm", _COIN_CELLS)
SEPARATOR_DISC_DIAMETER = Sourced(16.0, "mm", _COIN_CELLS, note="Glass-fibre separator (VWR 691).")
ANODE_DISC_AREA = _disc_area(ANODE_DISC_DIAMETER)
CATHODE_DISC_AREA = _disc_area(CATHODE_DISC_DIAMETER)
NP_RATIO = Sourced(1.2, "1", "Haghi et al. 2023, Experimental Section", note="Anode-to-cathode capacity.")

ELECTROLYTE_CONDUCTIVITY = Sourced(
    350.0,
    "µS/cm",
    _COIN_CELLS,
    note="Blocking electrolyte of the symmetric cells (0.01 M TBAClO4 in EC:EMC 3:7) at 25 °C.",
)
ELECTROLYTE_CONDUCTIVITY_S_CM = Sourced(
    float(ELECTROLYTE_CONDUCTIVITY) * 1e-6, "S/cm", "computed from ELECTROLYTE_CONDUCTIVITY (µS/cm)"
)

EIS_FREQUENCY_RANGE = SourcedRange(0.1, 10_000.0, "Hz", _EIS, note="10 kHz down to 100 mHz.")
EIS_POINTS_PER_DECADE = Sourced(10.0, "1/decade", _EIS, note="Logarithmically spaced.")
EIS_AMPLITUDE = Sourced(20.0, "mV", _EIS, note="Potentiostatic excitation around OCV.")

# --- Tortuosity relations (Eqs. 4 and 5) --------------------------------------------------------

BRUGGEMAN_ALPHA = Sourced(
    0.5, "1", "Haghi et al. 2023, Eq. 4 (Bruggeman 1935)", note="Exponent for spherical particles."
)
MODIFIED_BRUGGEMAN_PREFACTOR = Sourced(
    2.3, "1", "Haghi et al. 2023, Eq. 5 (Mayilvahanan et al., J. Electrochem. Soc. 168 (2021) 070537)"
)
MODIFIED_BRUGGEMAN_ALPHA = Sourced(
    0.31, "1", "Haghi et al. 2023, Eq. 5 (Mayilvahanan et al., J. Electrochem. Soc. 168 (2021) 070537)"
)
