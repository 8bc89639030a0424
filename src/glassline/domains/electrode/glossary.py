"""The electrode domain's terms, as the report's glossary prints them (equations: the electrode paper).

Equation numbers refer to Haghi et al., Batteries & Supercaps 2023 (doi:10.1002/batt.202300457), as in
:mod:`glassline.domains.electrode.physics`, where each equation is a function.
"""

from __future__ import annotations

__all__ = ["GLOSSARY"]

#: term → what it means on this line
GLOSSARY: dict[str, str] = {
    "Active mass loading": "Mass of active material (graphite) per electrode area after drying, in mg/cm².",
    "Porosity": "Volume fraction of the coating not filled by solid, ε = 1 − m/(d·ρ) from areal mass m, "
    "thickness d and theoretical density ρ (Eq. 1); set by calendering.",
    "Calendering": "Compressing the dried coating between rollers to a target thickness and porosity.",
    "Compaction rate": "Relative thickness reduction by calendering, Π = 1 − d_cal/d_uncal (Eq. 3).",
    "Coating gap": "The doctor-blade gap over the foil, in µm (mean of the two side sensors); it sets the "
    "wet film and so the mass loading.",
    "Ionic resistance": "Resistance R_ion of the electrolyte in the electrode's pores, fitted from a "
    "symmetric cell's impedance spectrum with a blocking transmission-line model.",
    "Tortuosity": "How much the pore network lengthens and constricts the ions' path compared with straight "
    "channels, τ = N_M·ε (MacMullin number times porosity); from R_ion, thickness, porosity and the "
    "electrolyte's conductivity (Eq. 2).",
    "Bruggeman relation": "Tortuosity from porosity, τ = ε^−α with α = 0.5 for spheres (Eq. 4); the "
    "modified form τ = a·ε^−α (Eq. 5) is fitted per group in the physics check.",
    "Adhesion strength": "Pull-off stress at which the coating separates from the current collector, in kPa.",
    "C-rate": "Discharge current relative to the cell's capacity: 1 C empties it in one hour, 5 C in 12 minutes.",
}
