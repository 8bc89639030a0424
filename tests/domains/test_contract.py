"""The domain-pack contract: finding packs, registering one, and a toy pack's parts in a whole study."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import glassline
from glassline import study_from_dict
from glassline.data import CleaningLog, LevelTable
from glassline.domains import (
    BUILTIN_PACKS,
    ENTRY_POINT_GROUP,
    DomainPack,
    Phrases,
    PhysicsContext,
    PhysicsResult,
    ReportBlock,
    ReportContext,
    ReportFigure,
    available_domains,
    get_domain,
    register_domain,
    study_domain,
    unregister_domain,
)
from glassline.exceptions import DataError, DomainError, GlasslineError
from glassline.spec import Study

PYPROJECT = Path(glassline.__file__).resolve().parents[2] / "pyproject.toml"


# ---------------------------------------------------------------- finding packs


def test_unknown_domain_did_you_mean() -> None:
    with pytest.raises(DomainError, match=r"no domain pack named 'electrod'; installed: .*Did you mean 'electrode'\?"):
        get_domain("electrod")
    assert issubclass(DomainError, GlasslineError)
    assert issubclass(DomainError, LookupError)


def test_electrode_pack_by_entry_point() -> None:
    from glassline.domains import electrode

    assert "electrode" in available_domains()
    pack = get_domain("electrode")
    assert pack is electrode.pack
    assert get_domain("electrode") is pack  # loaded once
    assert pack.name == "electrode"
    for part in (pack.prepare, pack.physics_checks, pack.report, pack.simulator):
        assert callable(part)
    assert pack.study_file().name == "study.toml"
    assert glassline.load_study(pack.study_file()).domain == "electrode"
    assert pack.phrases.physics_reference == "the fitted Bruggeman curves"
    assert "Tortuosity" in pack.glossary
    assert pack.caption("physics") is not None
    # the entry point pyproject.toml declares loads this very pack
    declared = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["entry-points"][ENTRY_POINT_GROUP]
    assert declared == {"electrode": "glassline.domains.electrode:pack"}
    entry = metadata.EntryPoint(name="electrode", value=declared["electrode"], group=ENTRY_POINT_GROUP)
    assert entry.load() is pack
    # an installation whose metadata is current declares it too
    installed = {e.name: e for e in metadata.entry_points(group=ENTRY_POINT_GROUP)}
    if "electrode" in installed:
        assert installed["electrode"].load() is pack


def test_builtin_packs_are_the_declared_entry_points() -> None:
    declared = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["entry-points"][ENTRY_POINT_GROUP]
    assert {e.name: e.value for e in BUILTIN_PACKS} == declared
    assert all(e.group == ENTRY_POINT_GROUP for e in BUILTIN_PACKS)


def test_listing_domains_imports_no_pack() -> None:
    code = (
        "import json, sys; from glassline.domains import available_domains; names = available_domains(); "
        "print(json.dumps([names, sorted(m for m in sys.modules if m.startswith('glassline.domains.'))]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    names, imported = json.loads(done.stdout.strip().splitlines()[-1])
    assert "electrode" in names
    assert imported == []


def test_register_domain_rules() -> None:
    first = DomainPack(name="probe_pack")
    try:
        assert register_domain(first) is first
        assert register_domain(first) is first  # the same pack again is fine
        assert get_domain("probe_pack") is first
        assert "probe_pack" in available_domains()
        with pytest.raises(DomainError, match="already registered; pass replace=True"):
            register_domain(DomainPack(name="probe_pack"))
        second = register_domain(DomainPack(name="probe_pack"), replace=True)
        assert get_domain("probe_pack") is second
    finally:
        unregister_domain("probe_pack")
    assert "probe_pack" not in available_domains()
    with pytest.raises(DomainError, match="expected a DomainPack, got dict"):
        register_domain({"name": "x"})  # type: ignore[arg-type]
    with pytest.raises(DomainError, match="name must be an identifier"):
        DomainPack(name="two words")


def test_missing_parts_and_the_study_field() -> None:
    bare = DomainPack(name="bare")
    assert bare.phrases == Phrases()
    assert bare.caption("physics_1") is None
    with pytest.raises(DomainError, match="'bare': the pack ships no study file"):
        bare.study_file()
    with pytest.raises(DomainError, match="'bare': the pack has no simulator"):
        bare.simulate(pd.DataFrame(), Path("."), seed=1)
    plain = study_from_dict(TOY_STUDY | {"domain": None})
    assert study_domain(plain) is None
    wrong = study_from_dict(TOY_STUDY | {"domain": "tyo"})
    with (
        toy_registered(),
        pytest.raises(DomainError, match=r"study 'toy widgets', field 'domain': .*Did you mean 'toy'\?"),
    ):
        study_domain(wrong)


def test_manifest_naming_an_unknown_or_partial_pack(tmp_path: Path) -> None:
    from glassline.data import prepare

    study = study_from_dict(TOY_STUDY)
    (tmp_path / "manifest.json").write_text('{"layout": "electrod"}', encoding="utf-8")
    with pytest.raises(DataError, match=r"layout 'electrod' cannot be imported: .*Did you mean 'electrode'"):
        prepare(study, tmp_path, tmp_path / "out")
    (tmp_path / "manifest.json").write_text('{"layout": "bare_pack"}', encoding="utf-8")
    register_domain(DomainPack(name="bare_pack"))
    try:
        with pytest.raises(DataError, match="that domain pack reads no raw folders"):
            prepare(study, tmp_path, tmp_path / "out")
    finally:
        unregister_domain("bare_pack")


# ---------------------------------------------------------------- a toy pack in a whole study

TOY_STUDY: dict[str, Any] = {
    "name": "toy widgets",
    "seed": 4,
    "domain": "toy",
    "factors": [
        {"name": "x1", "low": 0.0, "high": 1.0, "unit": "mm"},
        {"name": "x2", "low": 0.0, "high": 1.0, "unit": "s"},
    ],
    "responses": [{"name": "y", "label": "Widget strength", "unit": "N"}],
    "data": {"group": "configuration"},
    "split": {"cv_folds": 3, "cv_repeats": 1},
    "models": {"families": ["mlr"]},
}


def _toy_prepare(
    raw_dir: Path, study: Study, log: CleaningLog, progress: Any
) -> tuple[dict[str, LevelTable], dict[str, Any]]:
    frame = pd.read_csv(raw_dir / "widgets.csv")
    return {"data": LevelTable(frame, source="widgets.csv")}, {"toy_note": "read by the toy pack"}


def _toy_check(context: PhysicsContext) -> PhysicsResult:
    figures = []
    if context.figures is not None:
        context.figures.mkdir(parents=True, exist_ok=True)
        figure = Figure(figsize=(2, 2))
        FigureCanvasAgg(figure)
        figure.subplots().plot([0, 1], [0, 1])
        figures.append(context.figures / "toylaw_check.png")
        figure.savefig(figures[-1])
    fit = context.lead["y"]
    table = pd.DataFrame([{"target": "y", "family": fit.family, "check": "toy law", "max_rel_deviation": 0.125}])
    return PhysicsResult(table, figures)


def _toy_report(context: ReportContext) -> list[ReportBlock]:
    figure = Figure(figsize=(2, 2))
    FigureCanvasAgg(figure)
    figure.subplots().bar(["a", "b"], [1, 2])
    context.figures.mkdir(parents=True, exist_ok=True)
    path = context.figures / "toy_widgets.png"
    figure.savefig(path)
    note = context.dataset_metadata().get("toy_note", "")
    return [
        ReportBlock(
            "data",
            heading="Toy line check",
            text=f"TOY-TEXT {note}",
            table=pd.DataFrame({"widget": ["a", "b"], "count": [1, 2]}),
            figures=(ReportFigure(path, "TOY-CAPTION of the widget counts", "Widgets"),),
        ),
        ReportBlock("explanations", heading="Toy explanation note"),
    ]


TOY_PACK = DomainPack(
    name="toy",
    title="Toy widget line",
    prepare=_toy_prepare,
    physics_checks=_toy_check,
    report=_toy_report,
    captions={"toylaw": "TOY-PHYSICS-CAPTION: the toy law beside the model"},
    phrases=Phrases(physics_reference="the toy law"),
    glossary={"Widget": "TOY-GLOSSARY a small thing the toy line makes"},
)


@contextlib.contextmanager
def toy_registered() -> Iterator[DomainPack]:
    """Register the toy pack for the duration of a with block."""
    try:
        yield register_domain(TOY_PACK)
    finally:
        unregister_domain("toy")


@pytest.fixture
def toy_pack() -> Iterator[DomainPack]:
    with toy_registered() as pack:
        yield pack


def test_toy_pack_parts_appear_in_the_study(tmp_path: Path, toy_pack: DomainPack) -> None:
    from glassline.workflow import run_study

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "manifest.json").write_text(json.dumps({"layout": "toy"}), encoding="utf-8")
    rng = np.random.default_rng(2)
    rows = [
        {"configuration": f"C{c}", "x1": x1, "x2": x2, "y": 2 * x1 + x2 + rng.normal(0, 0.05)}
        for c, (x1, x2) in enumerate(rng.uniform(0, 1, size=(8, 2)))
        for _ in range(2)
    ]
    pd.DataFrame(rows).to_csv(raw / "widgets.csv", index=False)
    run = run_study(study_from_dict(TOY_STUDY), raw, tmp_path / "study", n_jobs=1)
    metadata_ = json.loads((run.dataset / "metadata.json").read_text(encoding="utf-8"))
    assert metadata_["layout"] == "toy"
    assert metadata_["toy_note"] == "read by the toy pack"
    physics = pd.read_csv(run.explanations / "physics_check.csv")
    assert physics["max_rel_deviation"].tolist() == [0.125]
    story = json.loads((run.explanations / "narratives.json").read_text(encoding="utf-8"))
    assert "Physics check: largest deviation from the toy law 12" in story["y"]["roles"]["domain_expert"]
    text = run.report.read_text(encoding="utf-8")
    for expected in (
        "Toy line check",
        "TOY-TEXT read by the toy pack",
        "TOY-CAPTION of the widget counts",
        "Toy explanation note",
        "TOY-PHYSICS-CAPTION",
        "TOY-GLOSSARY",
        'id="glossary"',
        "largest deviation from the toy law",
    ):
        assert expected in text, expected
    assert "Bruggeman" not in text
