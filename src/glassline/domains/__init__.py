"""Domain packs: what a domain supplies to glassline, and how the core finds it.

The core of glassline knows nothing of any domain. A **domain pack** is one :class:`DomainPack`
value that brings a domain's own parts; every part is optional except the name:

==================  ==========================================================================
``prepare``         the raw-file layout (:class:`LineLayout`): a line's raw files → per-level tables;
                    ``glassline prepare`` uses it when the raw folder's ``manifest.json`` says
                    ``"layout": "<domain name>"``
``physics_checks``  compares the explained models with the domain's physics
                    (:class:`PhysicsContext` → :class:`PhysicsResult`, ``physics_check.csv``)
``report``          blocks the domain adds to the report's sections (:class:`ReportBlock`:
                    heading, text, table, figures with captions), drawn from a :class:`ReportContext`;
                    blocks of section ``"reference"`` form the domain's own section (its reference
                    case, e.g. reproducing a paper), titled ``reference``
``captions``        captions of figures the domain's parts draw, by a keyword of the file name
``phrases``         the narrative's domain words (:class:`Phrases`)
``simulator``       a simulated line (:class:`Simulator`): a design → raw files with known truth
``study_files``     the study files it ships (found by name when a results folder lost its own)
``glossary``        term → definition, printed in the report of a study of this domain
==================  ==========================================================================

A study names its domain in its study file (``domain = "electrode"``, :attr:`glassline.spec.Study.domain`);
the explanation stage and the report take the domain's parts from that pack and add nothing
domain-specific to a study that names none.

**Finding packs.** A distribution declares its packs as entry points of the group
``glassline.domains`` (:data:`ENTRY_POINT_GROUP`), in ``pyproject.toml``::

    [project.entry-points."glassline.domains"]
    electrode = "glassline.domains.electrode:pack"

The packs shipped inside glassline are also listed in :data:`BUILTIN_PACKS`, so that a stale
installation (one whose metadata predates a pack) still finds them. Tests and third parties may add
a pack in-process with :func:`register_domain`. :func:`available_domains` lists the names without
importing any pack; :func:`get_domain` imports one pack, the first time it is asked for.

>>> from glassline.domains import available_domains, get_domain
>>> "electrode" in available_domains()
True
>>> get_domain("electrode").phrases.physics_reference
'the fitted Bruggeman curves'
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from glassline._progress import ProgressCallback
from glassline.exceptions import DomainError, did_you_mean

if TYPE_CHECKING:
    import pandas as pd

    from glassline.data import CleaningLog, LevelTable
    from glassline.models import Fit
    from glassline.spec import Study

__all__ = [
    "BUILTIN_PACKS",
    "ENTRY_POINT_GROUP",
    "DomainPack",
    "LineLayout",
    "Phrases",
    "PhysicsContext",
    "PhysicsResult",
    "ReportBlock",
    "ReportContext",
    "ReportFigure",
    "SimulationOutcome",
    "Simulator",
    "available_domains",
    "get_domain",
    "register_domain",
    "study_domain",
    "unregister_domain",
]

#: The entry-point group domain packs are declared in.
ENTRY_POINT_GROUP = "glassline.domains"
#: The packs shipped inside glassline, as the entry points ``pyproject.toml`` declares (kept equal by a test).
BUILTIN_PACKS: tuple[metadata.EntryPoint, ...] = (
    metadata.EntryPoint(name="electrode", value="glassline.domains.electrode:pack", group=ENTRY_POINT_GROUP),
)


# ---------------------------------------------------------------- what a pack supplies


class LineLayout(Protocol):
    """A raw-file layout: turns a line's raw folder into one :class:`~glassline.data.LevelTable` per level.

    Returns the tables by level name and metadata entries for ``metadata.json``.
    """

    def __call__(
        self, raw_dir: Path, study: Study, log: CleaningLog, progress: ProgressCallback | None
    ) -> tuple[dict[str, LevelTable], dict[str, Any]]: ...


@dataclass(frozen=True)
class PhysicsContext:
    """What a physics check gets: the study, the explained fits, the dataset folder, where to draw.

    ``best`` lists, per target, the best family of each explained scenario, best pooled CV R² first.
    ``figures`` is None when no figures are wanted.
    """

    study: Study
    lead: Mapping[str, Fit]
    best: Mapping[str, list[Fit]]
    dataset: Path
    figures: Path | None


@dataclass
class PhysicsResult:
    """A physics check's outcome: ``physics_check.csv`` (with ``target`` and ``max_rel_deviation``) and figures."""

    table: pd.DataFrame
    figures: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class ReportContext:
    """What a pack's report hook gets: the study, its folders, and the folder to draw into."""

    study: Study
    #: the study folder (``study.toml``, ``results/``, ...)
    root: Path
    #: the prepared dataset folder (``root/dataset``; may not exist)
    dataset: Path
    #: the raw folder (``root/raw``; may not exist)
    raw: Path
    #: where the report's own figures go
    figures: Path

    def dataset_metadata(self) -> dict[str, Any]:
        """The dataset's ``metadata.json`` (empty when there is none)."""
        path = self.dataset / "metadata.json"
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class ReportFigure:
    """A figure file with the caption the report prints under it and a short title."""

    path: Path
    caption: str
    title: str = ""


@dataclass(frozen=True)
class ReportBlock:
    """What a pack adds to one report section: a heading, a paragraph, a table and figures (each optional)."""

    #: "reference": the domain's own section on its reference case (titled by :attr:`DomainPack.reference`)
    section: Literal["data", "explanations", "reference"] = "data"
    heading: str = ""
    text: str = ""
    table: pd.DataFrame | None = None
    figures: tuple[ReportFigure, ...] = ()


@dataclass(frozen=True)
class Phrases:
    """The words of the narratives that belong to the domain (each has a domain-free default)."""

    #: what the physics check compares the models with: "Physics check: largest deviation from <this> 12 %."
    physics_reference: str = "the domain's physics"
    #: what the technician view adds to its check-list when a measured value falls outside its interval
    checklist: tuple[str, ...] = ()


class SimulationOutcome(Protocol):
    """What a simulator returns: at least the rows written per file (a ``description()`` line and a
    ``summary()`` table of file, rows, content are shown by ``glassline simulate`` when present)."""

    @property
    def rows(self) -> Mapping[str, int]: ...


#: A simulated line: ``simulator(design, out_dir, *, seed, **options) -> SimulationOutcome`` runs *design* (one
#: row per run, the study's factors; a DataFrame or a table file) and writes raw files to *out_dir*. *options*
#: are the pack's own (e.g. ``drift="KIND:MAGNITUDE"``, ``progress``); the core passes only those a user gave.
Simulator = Callable[..., SimulationOutcome]


@dataclass(frozen=True, eq=False)
class DomainPack:
    """One domain's parts (every one optional except the name); see the module docstring for each."""

    name: str
    title: str = ""
    prepare: LineLayout | None = None
    physics_checks: Callable[[PhysicsContext], PhysicsResult] | None = None
    report: Callable[[ReportContext], Sequence[ReportBlock]] | None = None
    captions: Mapping[str, str] = field(default_factory=dict)
    phrases: Phrases = field(default_factory=Phrases)
    simulator: Simulator | None = None
    study_files: tuple[Path, ...] = ()
    glossary: Mapping[str, str] = field(default_factory=dict)
    example_design: Path | None = None  # a design the simulator runs when none is given
    default_seed: int | None = None  # the simulator's seed when neither a seed nor a study gives one
    reference: str = "Reference case"  # the title of the report section holding the "reference" blocks

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise DomainError(f"DomainPack: name must be an identifier such as 'electrode', got {self.name!r}")

    def caption(self, figure: str) -> str | None:
        """The pack's caption of the figure named *figure* (the first keyword it contains), or None."""
        lowered = figure.lower()
        return next((text for key, text in self.captions.items() if key in lowered), None)

    def study_file(self) -> Path:
        """The first study file the pack ships (DomainError when it ships none)."""
        if not self.study_files:
            raise DomainError(f"domain {self.name!r}: the pack ships no study file")
        return self.study_files[0]

    def simulate(
        self, design: pd.DataFrame | Path | None, out_dir: Path, *, seed: int, **options: Any
    ) -> SimulationOutcome:
        """Run the pack's simulated line on *design* (None: its example design); DomainError when it has none."""
        if self.simulator is None:
            raise DomainError(f"domain {self.name!r}: the pack has no simulator")
        if design is None:
            if self.example_design is None:
                raise DomainError(f"domain {self.name!r}: the pack ships no example design; give one (--design)")
            design = self.example_design
        return self.simulator(design, out_dir, seed=seed, **{k: v for k, v in options.items() if v is not None})


# ---------------------------------------------------------------- how the core finds packs

_registered: dict[str, DomainPack] = {}
_loaded: dict[str, DomainPack] = {}


@functools.cache
def _declared() -> dict[str, metadata.EntryPoint]:
    """Entry points by name: the shipped ones, then those installed distributions declare."""
    found = {entry.name: entry for entry in BUILTIN_PACKS}
    found.update({entry.name: entry for entry in metadata.entry_points(group=ENTRY_POINT_GROUP)})
    return found


def register_domain(pack: DomainPack, *, replace: bool = False) -> DomainPack:
    """Make *pack* findable by its name in this process (before any entry point of that name); returns it.

    A second, different pack of a registered name raises DomainError unless *replace*.
    """
    if not isinstance(pack, DomainPack):
        raise DomainError(f"register_domain: expected a DomainPack, got {type(pack).__name__}")
    known = _registered.get(pack.name)
    if known is not None and known is not pack and not replace:
        raise DomainError(
            f"register_domain: a domain pack named {pack.name!r} is already registered; pass replace=True to replace it"
        )
    _registered[pack.name] = pack
    return pack


def unregister_domain(name: str) -> None:
    """Forget the pack registered in-process as *name* (entry points stay findable)."""
    _registered.pop(name, None)


def available_domains() -> tuple[str, ...]:
    """The names of every findable pack, sorted (registered and declared; none is imported)."""
    return tuple(sorted(set(_registered) | set(_declared())))


def get_domain(name: str) -> DomainPack:
    """The domain pack called *name*; imports it the first time. Unknown names raise DomainError."""
    pack = _registered.get(name) or _loaded.get(name)
    if pack is not None:
        return pack
    entry = _declared().get(name)
    if entry is None:
        names = available_domains()
        raise DomainError(
            f"no domain pack named {name!r}; installed: {', '.join(names) or 'none'}." + did_you_mean(name, names)
        )
    try:
        loaded = entry.load()
    except (ImportError, AttributeError) as exc:
        raise DomainError(f"domain pack {name!r} ({entry.value}) cannot be imported: {exc}") from None
    if not isinstance(loaded, DomainPack) or loaded.name != name:
        raise DomainError(
            f"entry point {name!r} of group {ENTRY_POINT_GROUP!r} ({entry.value}): expected a DomainPack named "
            f"{name!r}, got {loaded!r:.80}"
        )
    _loaded[name] = loaded
    return loaded


def study_domain(study: Study) -> DomainPack | None:
    """The pack of the domain *study* names (``domain = ...`` in its study file), or None for a domain-free study."""
    if study.domain is None:
        return None
    try:
        return get_domain(study.domain)
    except DomainError as exc:
        raise DomainError(f"study {study.name!r}, field 'domain': {exc}") from None
